"""An independent WebRTC client for the interop test: aiortc (Debian's python3-aiortc) speaking
WHIP to the gateway. Sends a 440 Hz tone, optionally receives (two-way sessions), reads the
session status, deletes the session with the same Bearer token it created it with (RFC 9725
section 4.5), and prints one JSON line with what it saw.

usage: aiortc_client.py URL TOKEN SECONDS sendonly|sendrecv
"""
import asyncio
import fractions
import json
import sys
import time
import urllib.error
import urllib.request

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

RATE = 48000
FRAME = 960


class Tone(MediaStreamTrack):
    kind = "audio"

    def __init__(self):
        super().__init__()
        self.t = 0
        self.start = None

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        wait = self.start + self.t / RATE - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        n = np.arange(self.t, self.t + FRAME)
        pcm = (np.sin(2 * np.pi * 440 * n / RATE) * 0.3 * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.t
        frame.time_base = fractions.Fraction(1, RATE)
        self.t += FRAME
        return frame


def request(method, url, token, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.headers, r.read().decode()  # case-insensitive lookups
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


async def main(url, token, seconds, direction):
    pc = RTCPeerConnection()
    received = {"frames": 0}
    pc.addTransceiver(Tone(), direction=direction)

    @pc.on("track")
    def on_track(track):
        async def pull():
            while True:
                try:
                    await track.recv()
                    received["frames"] += 1
                except Exception:
                    return
        asyncio.ensure_future(pull())

    await pc.setLocalDescription(await pc.createOffer())
    status, headers, answer = request(
        "POST", url, token, pc.localDescription.sdp.encode(), {"Content-Type": "application/sdp"}
    )
    out = {"status": status, "location": headers.get("Location"), "etag": headers.get("ETag")}
    if status != 201:
        out["error"] = answer
        print(json.dumps(out))
        await pc.close()
        return
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    deadline = time.time() + 10
    while pc.connectionState != "connected" and time.time() < deadline:
        await asyncio.sleep(0.05)
    out["connected"] = pc.connectionState == "connected"
    await asyncio.sleep(seconds)
    base = url.split("/v1/")[0]
    st, _, body = request("GET", base + out["location"], token)
    out["statusCode"] = st
    out["session"] = json.loads(body) if st == 200 else body
    out["framesReceived"] = received["frames"]
    st, _, _ = request("DELETE", base + out["location"], token)
    out["deleteStatus"] = st
    await pc.close()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]))
