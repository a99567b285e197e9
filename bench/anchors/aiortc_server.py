"""Anchor: an aiortc server (Debian's python3-aiortc), written from aiortc's documented server
example (examples/server: RTCPeerConnection per offer, a track relayed back), doing the anchors'
work with aiortc's own codecs: its receiver decodes Opus (libopus through its cffi binding, 48 kHz
stereo, in its decoder thread), PyAV's resampler takes it to 16 kHz mono, then
  record: the 16 kHz audio appended to a WAV file (Python's wave module);
  echo:   the 16 kHz audio sent back on our track, which aiortc's encoder resamples to 48 kHz and
          Opus-encodes (its own settings: libopus defaults, stereo, in an executor thread).
The HTTP interface is the node anchors' (bench/anchors/serve.ts) with aiohttp's place taken by
a few lines of asyncio (Debian has no python3-aiohttp installed here):
  POST /offer {sdp} -> {id, answer}; GET /stats; POST /window; GET /window -> {loopP99Ms};
  DELETE /sessions/<id>.  Prints "READY <port>" once listening.

  MODE=echo|record DIR=/tmp /usr/bin/python3 bench/anchors/aiortc_server.py
"""
import asyncio
import fractions
import json
import os
import time
import wave

import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

MODE = os.environ.get("MODE", "echo")
DIR = os.environ.get("DIR", "/tmp")
RATE = 16000
FRAME = 320  # 20 ms at 16 kHz
sessions = {}
lags = []


class Session:
    def __init__(self, sid):
        self.id = sid
        self.pc = RTCPeerConnection()
        self.samples_in = 0
        self.buf = bytearray()
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        self.wav = None
        if MODE == "record":
            self.wav = wave.open(os.path.join(DIR, f"{sid}.wav"), "wb")
            self.wav.setnchannels(1)
            self.wav.setsampwidth(2)
            self.wav.setframerate(RATE)

    def take(self, frame):
        for f in self.resampler.resample(frame):
            data = bytes(f.planes[0])[: f.samples * 2]
            self.samples_in += f.samples
            if self.wav:
                self.wav.writeframes(data)
            else:
                self.buf += data


class Echo(MediaStreamTrack):
    """the caller's audio, decoded and resampled to 16 kHz, handed back in 20 ms frames"""

    kind = "audio"

    def __init__(self, session, source):
        super().__init__()
        self.session = session
        self.source = source
        self.pts = 0

    async def recv(self):
        s = self.session
        while len(s.buf) < FRAME * 2:
            s.take(await self.source.recv())
        data = bytes(s.buf[: FRAME * 2])
        del s.buf[: FRAME * 2]
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(data)
        frame.sample_rate = RATE
        frame.pts = self.pts
        frame.time_base = fractions.Fraction(1, RATE)
        self.pts += FRAME
        return frame


async def consume(session, track):
    try:
        while True:
            session.take(await track.recv())
    except MediaStreamError:
        pass


async def create(sdp, sid):
    s = Session(sid)
    sessions[sid] = s

    @s.pc.on("track")
    def on_track(track):
        if track.kind != "audio":
            return
        if MODE == "echo":
            s.pc.addTrack(Echo(s, track))
        else:
            asyncio.ensure_future(consume(s, track))

    await s.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
    await s.pc.setLocalDescription(await s.pc.createAnswer())  # gathers: non-trickle answer
    return s.pc.localDescription.sdp


async def stats():
    out = {}
    for sid, s in list(sessions.items()):
        pin = pout = 0
        for st in (await s.pc.getStats()).values():
            if st.type == "inbound-rtp":
                pin += st.packetsReceived
            elif st.type == "outbound-rtp":
                pout += st.packetsSent
        out[sid] = {"packetsIn": pin, "packetsOut": pout, "samplesIn": s.samples_in}
    return out


async def close(sid):
    s = sessions.pop(sid, None)
    if not s:
        return False
    await s.pc.close()
    if s.wav:
        s.wav.close()
    return True


async def lag_monitor():
    """the event loop's lag: how late a 10 ms sleep wakes up"""
    while True:
        t = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(max(0.0, time.perf_counter() - t - 0.01) * 1000)


async def handle(reader, writer):
    next_id = handle.__dict__.setdefault("next", [0])
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        length = 0
        for h in lines[1:]:
            if h.lower().startswith("content-length:"):
                length = int(h.split(":", 1)[1])
        body = await reader.readexactly(length) if length else b""
        status, out = 404, {"error": "not found"}
        if method == "POST" and path == "/offer":
            sid = f"a{next_id[0]}"
            next_id[0] += 1
            answer = await create(json.loads(body)["sdp"], sid)
            status, out = 201, {"id": sid, "answer": answer}
        elif method == "GET" and path == "/stats":
            status, out = 200, {"sessions": await stats()}
        elif method == "POST" and path == "/window":
            lags.clear()
            status, out = 200, {}
        elif method == "GET" and path == "/window":
            xs = sorted(lags)
            p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))] if xs else 0
            status, out = 200, {"loopP99Ms": p99}
        elif method == "DELETE" and path.startswith("/sessions/"):
            ok = await close(path.split("/")[2])
            status, out = (200 if ok else 404), {}
    except Exception as e:  # one bad request never takes the server down
        status, out = 500, {"error": str(e)}
    data = json.dumps(out).encode()
    writer.write(
        f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n"
        f"connection: close\r\n\r\n".encode() + data
    )
    await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(os.environ.get("PORT", "0")))
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    asyncio.ensure_future(lag_monitor())
    await server.serve_forever()


asyncio.run(main())
