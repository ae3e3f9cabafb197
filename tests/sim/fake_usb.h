// SPDX-License-Identifier: GPL-2.0-only
//
// A simulated host USB device: the host implementation of usbback/host.h.
// URBs complete as simulator events (or are held until the test completes
// them); every call usbback makes is counted.
#ifndef XENIDC_TESTS_FAKE_USB_H
#define XENIDC_TESTS_FAKE_USB_H

#include <functional>
#include <string>
#include <vector>

#include "../../usbback/host.h"
#include "sim.h"

namespace sim {

struct FakeUrb {
	ub_xfer x;		   // as submitted
	ub_xfer *submitted;	   // usbback's, where the results go
	std::vector<uint8_t> data; // what the device received (OUT)
	bool done = false;
	bool freed = false;
};

class FakeUsbDevice {
public:
	explicit FakeUsbDevice(std::string busid, unsigned speed = 3);
	~FakeUsbDevice();

	std::string busid;
	unsigned speed;
	unsigned config = 1;
	bool hold = false; // keep URBs pending until Finish()
	int submit_error = 0;
	int reset_error = 0;
	// The status a completing URB gets (index counts URBs).
	std::function<int(const FakeUrb &)> status;
	std::vector<uint8_t> in_data; // what bulk/int IN transfers return
	// Runs inside the synchronous requests (SET_INTERFACE, CLEAR_HALT),
	// where the kernel's would sleep, and once inside the next submit:
	// what another thread does meanwhile.
	std::function<void()> on_control, on_submit;
	// Runs inside the next port reset (ub_reset).
	std::function<void()> on_reset;
	// The bytes an iso IN packet gets (default: all it asked for).
	std::function<uint32_t(uint32_t packet, uint32_t length)> iso_actual;
	std::vector<FakeUrb *> urbs; // every URB, in submit order
	int refs = 0, set_interface = 0, clear_halt = 0, reset_config = 0, resets = 0, unlinks = 0,
	    kills = 0;
	unsigned last_intf = 0, last_alt = 0, last_ep = 0;

	int Plug(bool asked = true);	     // ub_attach
	void Unplug(bool pulled = true);     // ub_detach
	void Finish(FakeUrb *u, int status); // completes a held URB
	std::vector<FakeUrb *> Pending() const;
	ub_dev *dev() { return reinterpret_cast<ub_dev *>(this); }

	void Complete(FakeUrb *u, int status);
};

} // namespace sim

#endif
