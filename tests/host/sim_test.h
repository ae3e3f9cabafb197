// SPDX-License-Identifier: GPL-2.0-only
//
// Fixture for host tests: a fresh simulated Xen per test, invariant
// failures reported as test failures, and at the end a check that nothing
// leaked (memory, pages, grant mappings, rings, event channels, work).
#ifndef XENIDC_TESTS_SIM_TEST_H
#define XENIDC_TESTS_SIM_TEST_H

#include <gtest/gtest.h>

#include "sim.h"

class SimTest : public ::testing::Test {
public:
	static constexpr xi_domid_t kGuest = 7;

protected:
	void SetUp() override
	{
		sim_.on_warning = [this](const std::string &m) {
			warnings_.push_back(m);
			if (!expect_warnings_)
				ADD_FAILURE() << "simulator: " << m;
		};
		sim_.AddDomain(kGuest, 4096);
	}

	void TearDown() override
	{
		sim_.RunUntilIdle();
		const sim::Counters &c = sim_.counters();
		EXPECT_EQ(c.allocs, 0) << "leaked allocations";
		EXPECT_EQ(c.pages, 0) << "leaked pages";
		EXPECT_EQ(c.mappings, 0) << "grants left mapped";
		EXPECT_EQ(c.rings, 0) << "rings left mapped";
		EXPECT_EQ(c.evtchns, 0) << "event channels left bound";
		EXPECT_EQ(c.works, 0) << "work items leaked";
		EXPECT_EQ(sim_.GrantsMapped(), 0);
	}

	sim::Sim sim_;
	std::vector<std::string> warnings_;
	bool expect_warnings_ = false;
};

#endif
