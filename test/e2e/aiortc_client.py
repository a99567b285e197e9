"""An independent WebRTC client for the interop test: aiortc (Debian's python3-aiortc) speaking
WHIP to the gateway. Sends a 440 Hz tone, optionally receives (two-way sessions), reads the
session status, deletes the session with the same Bearer token it created it with (RFC 9725
section 4.5), and prints one JSON line with what it saw.

With a fifth argument `resume`, the call is cut mid-way: the first peer connection is closed
without DELETE (its network "changed"), a new one posts its offer to {Location}/resume, and the
frames it receives are counted apart (the session must go on: same Location, `resumes: 1`).

usage: aiortc_client.py URL TOKEN SECONDS sendonly|sendrecv [resume]
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


def new_peer(direction, received, key):
    pc = RTCPeerConnection()
    pc.addTransceiver(Tone(), direction=direction)

    @pc.on("track")
    def on_track(track):
        async def pull():
            while True:
                try:
                    await track.recv()
                    received[key] += 1
                except Exception:
                    return
        asyncio.ensure_future(pull())

    return pc


async def connected(pc):
    deadline = time.time() + 10
    while pc.connectionState != "connected" and time.time() < deadline:
        await asyncio.sleep(0.05)
    return pc.connectionState == "connected"


async def main(url, token, seconds, direction, resume=False):
    received = {"frames": 0, "resumedFrames": 0}
    pc = new_peer(direction, received, "frames")
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
    out["connected"] = await connected(pc)
    await asyncio.sleep(seconds)
    base = url.split("/v1/")[0]
    if resume:
        await pc.close()  # the old path is gone; no DELETE
        pc = new_peer(direction, received, "resumedFrames")
        await pc.setLocalDescription(await pc.createOffer())
        st, headers, answer = request(
            "POST", base + out["location"] + "/resume", token, pc.localDescription.sdp.encode(),
            {"Content-Type": "application/sdp"},
        )
        out["resumeStatus"] = st
        out["resumeLocation"] = headers.get("Location")
        if st == 200:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            out["resumed"] = await connected(pc)
            await asyncio.sleep(seconds)
        else:
            out["resumeError"] = answer
    st, _, body = request("GET", base + out["location"], token)
    out["statusCode"] = st
    out["session"] = json.loads(body) if st == 200 else body
    out["framesReceived"] = received["frames"]
    out["resumedFramesReceived"] = received["resumedFrames"]
    st, _, _ = request("DELETE", base + out["location"], token)
    out["deleteStatus"] = st
    await pc.close()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(
        main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], len(sys.argv) > 5 and sys.argv[5] == "resume")
    )
