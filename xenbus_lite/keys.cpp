// SPDX-License-Identifier: GPL-2.0-only
//
// Parsing xenstore values by Key. Values from a frontend are hostile: the
// parsers accept exactly the form the protocol defines and nothing more
// (no signs, spaces, base prefixes, overflow, or trailing bytes).
#include <xenidc/xenbus_lite.h>

namespace xenidc::xb {

namespace {

bool ParseU32(const char *s, uint32_t *out, unsigned base = 10)
{
	uint64_t v = 0;
	int n = 0;
	for (; *s; s++, n++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		v = v * base + d;
		if (v > 0xffffffffull)
			return false;
	}
	if (n == 0)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool StrEq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

size_t StrLen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

} // namespace

Status ParseValue(const Key &k, const char *value, void *out)
{
	switch (k.type) {
	case Type::kU32: {
		uint32_t v, max = k.max_ref ? *k.max_ref : k.max;
		if (!ParseU32(value, &v) || v < k.min || v > max)
			return Status::Error(err::kRange);
		*static_cast<uint32_t *>(out) = v;
		return Status::Ok();
	}
	case Type::kString: {
		size_t n = StrLen(value);
		if (n + 1 > k.max)
			return Status::Error(err::kRange);
		ktl::MemCopy(out, value, n + 1);
		return Status::Ok();
	}
	case Type::kEnum:
		for (uint32_t i = 0; k.choices[i]; i++)
			if (StrEq(value, k.choices[i])) {
				*static_cast<uint32_t *>(out) = i;
				return Status::Ok();
			}
		return Status::Error(err::kInval);
	case Type::kDevNum: {
		// "major:minor" in hex, as the hotplug scripts write it (stat %t:%T)
		char major[16];
		size_t i = 0;
		while (value[i] && value[i] != ':' && i < sizeof(major) - 1) {
			major[i] = value[i];
			i++;
		}
		major[i] = 0;
		DevNumValue d;
		if (value[i] != ':' || !ParseU32(major, &d.major, 16) ||
		    !ParseU32(value + i + 1, &d.minor, 16) || d.major >= (1u << 12) ||
		    d.minor >= (1u << 20))
			return Status::Error(err::kInval);
		*static_cast<DevNumValue *>(out) = d;
		return Status::Ok();
	}
	case Type::kGrantRefs: {
		uint32_t v;
		if (!ParseU32(value, &v))
			return Status::Error(err::kInval);
		*static_cast<GrantRef *>(out) = GrantRef(v);
		return Status::Ok();
	}
	}
	return Status::Error(err::kInval);
}

} // namespace xenidc::xb
