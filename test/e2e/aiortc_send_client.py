"""aiortc (Debian's python3-aiortc) as a WHIP client that sends an exact amount of audio, then
stays connected and silent, then closes its peer WITHOUT a DELETE: what a recording must then
contain is exactly what this client sent. Prints one JSON line: status, location, framesSent
(20 ms Opus frames handed to aiortc's sender = RTP packets sent), closedAt (ms since epoch).

usage: aiortc_send_client.py URL TOKEN FRAMES IDLE_SECONDS
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


class CountedTone(MediaStreamTrack):
    """a 440 Hz tone, `limit` frames of it, then nothing (the sender waits: no packet is sent)"""

    kind = "audio"

    def __init__(self, limit):
        super().__init__()
        self.limit = limit
        self.sent = 0
        self.t = 0
        self.start = None
        self.done = asyncio.Event()

    async def recv(self):
        if self.sent >= self.limit:
            self.done.set()
            await asyncio.Future()  # never: the client stops sending
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
        self.sent += 1
        return frame


def post(url, token, body):
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/sdp")
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


async def main(url, token, frames, idle):
    pc = RTCPeerConnection()
    tone = CountedTone(frames)
    pc.addTransceiver(tone, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    status, headers, answer = post(url, token, pc.localDescription.sdp.encode())
    out = {"status": status, "location": headers.get("Location")}
    if status != 201:
        out["error"] = answer
        print(json.dumps(out))
        await pc.close()
        return
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    try:
        await asyncio.wait_for(tone.done.wait(), timeout=frames * 0.02 + 15)
    except asyncio.TimeoutError:
        out["error"] = f"only {tone.sent} of {frames} frames sent"
    out["connected"] = pc.connectionState
    await asyncio.sleep(idle)
    out["framesSent"] = tone.sent
    out["closedAt"] = int(time.time() * 1000)
    await pc.close()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
