// SPDX-License-Identifier: GPL-2.0-only
//
// The usbif ring protocols (xen/interface/io/usbif.h) for Channel<>: the urb
// ring (requests in, completions out) and the conn ring (the frontend posts
// credits, the backend answers one per port event). Fixed-width fields with
// natural alignment: one layout for 32- and 64-bit guests. Checked against the
// Xen public headers in xenidc/module.c and tests/host.
#ifndef XENIDC_ABI_USBIF_H
#define XENIDC_ABI_USBIF_H

#include <xenidc/abi/layout.h>
#include <xenidc/ktl.h>

namespace xenidc::usbif {

constexpr unsigned kMaxSegments = 16;
constexpr unsigned kMaxPorts = 31;
constexpr uint16_t kShortNotOk = 0x0001; // transfer_flags

// pipe: the kernel's pipe encoding plus port (bits 0-4) and unlink (bit 5).
constexpr uint32_t kPipePortMask = 0x1f;
constexpr uint32_t kPipeUnlink = 0x20;
constexpr uint32_t kPipeReservedLow = 0x40;
constexpr uint32_t kPipeDirIn = 0x80;
constexpr uint32_t kPipeDevShift = 8;
constexpr uint32_t kPipeDevMask = 0x7f;
constexpr uint32_t kPipeEpShift = 15;
constexpr uint32_t kPipeEpMask = 0xf;
constexpr uint32_t kPipeTypeShift = 30;
constexpr uint32_t kPipeReservedMid = 0x3ff80000; // bits 19-29
enum PipeType : uint32_t { kIsoc = 0, kInt = 1, kCtrl = 2, kBulk = 3 };

constexpr unsigned PipePort(uint32_t p)
{
	return p & kPipePortMask;
}
constexpr bool PipeUnlink(uint32_t p)
{
	return p & kPipeUnlink;
}
constexpr bool PipeIn(uint32_t p)
{
	return p & kPipeDirIn;
}
constexpr unsigned PipeDev(uint32_t p)
{
	return (p >> kPipeDevShift) & kPipeDevMask;
}
constexpr unsigned PipeEp(uint32_t p)
{
	return (p >> kPipeEpShift) & kPipeEpMask;
}
constexpr PipeType PipeKind(uint32_t p)
{
	return PipeType(p >> kPipeTypeShift);
}

// Status codes of a urb response (negative errnos).
constexpr int32_t kStatusOk = 0;
constexpr int32_t kStatusNoDev = -19;
constexpr int32_t kStatusInval = -22;
constexpr int32_t kStatusStall = -32;
constexpr int32_t kStatusIoError = -71;
constexpr int32_t kStatusBabble = -75;
constexpr int32_t kStatusShutdown = -108;

// A host result (a Linux errno) as one of the seven statuses xen-hcd knows;
// it turns any other value into -ESHUTDOWN, "the device is gone".
constexpr int32_t StatusOf(int err)
{
	switch (err) {
	case 0:
		return kStatusOk;
	case -32: // EPIPE
		return kStatusStall;
	case -75: // EOVERFLOW
		return kStatusBabble;
	case -19:  // ENODEV
	case -108: // ESHUTDOWN
		return kStatusNoDev;
	case -22: // EINVAL
		return kStatusInval;
	case -104: // ECONNRESET: unlinked; the guest reports its own status
	case -2:   // ENOENT: killed
		return kStatusShutdown;
	default: // EPROTO, EILSEQ, ETIME, EREMOTEIO (short), ...
		return kStatusIoError;
	}
}

enum Speed : uint8_t { kSpeedNone = 0, kSpeedLow = 1, kSpeedFull = 2, kSpeedHigh = 3 };

// The SETUP packet of a control request (u.ctrl; USB 2.0, 9.3) and the
// standard requests (9.4) a backend answers or performs itself.
namespace setup {
constexpr unsigned kType = 0, kRequest = 1, kValue = 2, kIndex = 4, kLength = 6; // offsets
constexpr uint8_t kDirIn = 0x80;
constexpr uint8_t kTypeMask = 0x60; // 0 = standard
constexpr uint8_t kRecipMask = 0x1f;
constexpr uint8_t kRecipDevice = 0, kRecipInterface = 1, kRecipEndpoint = 2;
constexpr uint8_t kClearFeature = 1, kSetAddress = 5, kGetDescriptor = 6;
constexpr uint8_t kSetConfiguration = 9, kSetInterface = 11;
constexpr uint16_t kEndpointHalt = 0; // CLEAR_FEATURE's wValue
// A 16-bit field (kValue, kIndex, kLength): little-endian on the wire.
constexpr uint16_t Word(const uint8_t s[8], unsigned at)
{
	return (uint16_t)(s[at] | s[at + 1] << 8);
}
} // namespace setup

struct Segment {
	uint32_t gref;
	uint16_t offset;
	uint16_t length;
};

struct UrbRequest {
	uint16_t id;
	uint16_t nr_buffer_segs;
	uint32_t pipe;
	uint16_t transfer_flags;
	uint16_t buffer_length;
	union {
		uint8_t ctrl[8]; // the SETUP packet
		struct {
			uint16_t interval;
			uint16_t start_frame;
			uint16_t number_of_packets;
			uint16_t nr_frame_desc_segs;
		} isoc;
		struct {
			uint16_t interval;
			uint16_t pad[3];
		} intr;
		struct {
			uint16_t unlink_id;
			uint16_t pad[3];
		} unlink;
	} u;
	Segment seg[kMaxSegments];
};
static_assert(sizeof(UrbRequest) == XI_USBIF_URB_REQ_SIZE &&
	      __builtin_offsetof(UrbRequest, pipe) == XI_USBIF_URB_REQ_PIPE &&
	      __builtin_offsetof(UrbRequest, u) == XI_USBIF_URB_REQ_U &&
	      __builtin_offsetof(UrbRequest, seg) == XI_USBIF_URB_REQ_SEG);

struct UrbResponse {
	uint16_t id;
	uint16_t start_frame;
	int32_t status;
	int32_t actual_length;
	int32_t error_count;
};
static_assert(sizeof(UrbResponse) == XI_USBIF_URB_RSP_SIZE &&
	      __builtin_offsetof(UrbResponse, status) == XI_USBIF_URB_RSP_STATUS);

struct ConnRequest {
	uint16_t id;
};

struct ConnResponse {
	uint16_t id;
	uint8_t portnum;
	uint8_t speed;
};
static_assert(sizeof(ConnResponse) == XI_USBIF_CONN_RSP_SIZE);

// An isochronous packet descriptor as the guest's kernel lays it out
// (struct usb_iso_packet_descriptor), granted after the buffer segments.
struct IsoDesc {
	uint32_t offset;
	uint32_t length;
	uint32_t actual_length;
	int32_t status;
};
static_assert(sizeof(IsoDesc) == 16);

// The wire structs are plain and fully defined, so the private copy is the
// decoded form.
struct UrbProto {
	using WireRequest = UrbRequest;
	using WireResponse = UrbResponse;
	using Request = UrbRequest;
	using Response = UrbResponse;
	static void Decode(const WireRequest &w, Request *r) { *r = w; }
	static void Encode(const Response &r, WireResponse *w) { *w = r; }
};

struct ConnProto {
	using WireRequest = ConnRequest;
	using WireResponse = ConnResponse;
	using Request = ConnRequest;
	using Response = ConnResponse;
	static void Decode(const WireRequest &w, Request *r) { *r = w; }
	static void Encode(const Response &r, WireResponse *w) { *w = r; }
};

} // namespace xenidc::usbif

#endif // XENIDC_ABI_USBIF_H
