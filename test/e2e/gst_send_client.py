"""GStreamer's webrtcbin (Debian's gstreamer1.0-plugins-bad + gstreamer1.0-nice, through
python3-gi) as a WHIP client: sends FRAMES 20 ms Opus packets of a 440 Hz tone once connected (counted where they enter
webrtcbin; before the connection and after the last one, nothing passes), stays connected
and silent IDLE_SECONDS, then DELETEs the session and shuts its pipeline down (END=delete, the
default) or only shuts its pipeline down (END=close: the node must notice by itself — nothing
reaches it, docs/node.md; test/e2e/recording-length.test.ts checks the recording then). Non-trickle:
the offer is posted once ICE gathering is complete. Prints one JSON line: status, location,
packetsSent (RTP packets out of the payloader), closedAt (ms since epoch).

usage: gst_send_client.py URL TOKEN FRAMES IDLE_SECONDS [delete|close] [stereo]

stereo: a 2-channel Opus encoder (its offer says sprop-stereo=1, as webrtcbin derives it from
the caps) sending 440 Hz on the left channel and 1000 Hz on the right instead.
"""
import json
import sys
import threading
import time
import urllib.error
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

URL, TOKEN, FRAMES, IDLE = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
END = sys.argv[5] if len(sys.argv) > 5 else "delete"
STEREO = len(sys.argv) > 6 and sys.argv[6] == "stereo"
Gst.init(None)

SEND = (
    "opusenc frame-size=20 bitrate={bitrate} "
    "! rtpopuspay name=pay pt=111 ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 "
    "! webrtcbin name=webrtc bundle-policy=max-bundle"
)
TONE = "audiotestsrc is-live=true wave=sine freq={hz} volume=0.3 samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=1"
PIPELINE = (
    # each tone positioned (front left 0x1, front right 0x2): unpositioned channels make opusenc
    # use channel mapping family 255, which rtpopuspay does not negotiate
    "interleave name=mix ! audioconvert ! audio/x-raw,rate=48000,channels=2 ! "
    + SEND.format(bitrate=64000)
    + f" {TONE.format(hz=440)},channel-mask=(bitmask)0x1 ! mix."
    + f" {TONE.format(hz=1000)},channel-mask=(bitmask)0x2 ! mix."
    if STEREO
    else f"{TONE.format(hz=440)} ! " + SEND.format(bitrate=32000)
)
pipe = Gst.parse_launch(PIPELINE)
webrtc = pipe.get_by_name("webrtc")
loop = GLib.MainLoop()
out = {"packetsSent": 0}
sent_lock = threading.Lock()


def count(_pad, _info):
    """what reaches webrtcbin once it is connected: FRAMES packets, then nothing"""
    if webrtc.get_property("connection-state") != GstWebRTC.WebRTCPeerConnectionState.CONNECTED:
        return Gst.PadProbeReturn.DROP
    with sent_lock:
        if out["packetsSent"] >= FRAMES:
            return Gst.PadProbeReturn.DROP
        out["packetsSent"] += 1
        if out["packetsSent"] == FRAMES:
            # every packet is out: stay connected and silent, then leave without a DELETE
            GLib.timeout_add(int(IDLE * 1000), finish)
    return Gst.PadProbeReturn.OK


pipe.get_by_name("pay").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, count)


def finish():
    if "closedAt" in out:
        return False
    out["closedAt"] = int(time.time() * 1000)
    if out.get("location") and END == "delete":
        # webrtcbin's shutdown sends nothing at all (no RTCP BYE, no DTLS close_notify: captured,
        # docs/node.md "A peer that closes"): end the session as WHIP says, then close
        req = urllib.request.Request(URL.split("/v1/")[0] + out["location"], method="DELETE")
        req.add_header("Authorization", f"Bearer {TOKEN}")
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                out["deleteStatus"] = r.status
        except urllib.error.HTTPError as e:
            out["deleteStatus"] = e.code
    pipe.set_state(Gst.State.NULL)
    out.pop("posted", None)
    print(json.dumps(out), flush=True)
    loop.quit()
    return False


def post_offer():
    local = webrtc.get_property("local-description")
    if "posted" in out or local is None:
        return False
    out["posted"] = True
    sdp = local.sdp.as_text()
    req = urllib.request.Request(URL, data=sdp.encode(), method="POST")
    req.add_header("Authorization", f"Bearer {TOKEN}")
    req.add_header("Content-Type", "application/sdp")
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            status, location, answer = r.status, r.headers.get("Location"), r.read().decode()
    except urllib.error.HTTPError as e:
        status, location, answer = e.code, None, e.read().decode()
    except OSError as e:
        status, location, answer = 0, None, str(e)
    out["status"], out["location"] = status, location
    if status != 201:
        out["error"] = answer
        return finish()
    _, msg = GstSdp.SDPMessage.new_from_text(answer)
    desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
    webrtc.emit("set-remote-description", desc, Gst.Promise.new())
    return False


def on_gathering(element, _pspec):
    if element.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
        GLib.idle_add(post_offer)


def on_offer(promise, _element, _data):
    promise.wait()
    reply = promise.get_reply()
    offer = reply.get_value("offer") if reply.has_field("offer") else None
    if offer is None:
        out["error"] = f"create-offer failed: {reply.to_string()}"
        finish()
        return
    webrtc.emit("set-local-description", offer, Gst.Promise.new())
    # host candidates are gathered within a moment; do not wait for a "complete" that libnice
    # may be slow to announce
    GLib.timeout_add(1500, post_offer)


def on_negotiation_needed(element):
    for i in range(8):
        t = element.emit("get-transceiver", i)
        if t is None:
            break
        t.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
    element.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, element, None))


def on_message(_bus, msg):
    if msg.type == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
        out["error"] = f"{err.message} {dbg}"
        finish()


webrtc.connect("on-negotiation-needed", on_negotiation_needed)
webrtc.connect("notify::ice-gathering-state", on_gathering)
bus = pipe.get_bus()
bus.add_signal_watch()
bus.connect("message", on_message)
pipe.set_state(Gst.State.PLAYING)
GLib.timeout_add(FRAMES * 20 + 30_000, lambda: (out.setdefault("error", "timeout"), finish()))
loop.run()
