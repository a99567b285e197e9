// A WHIP client on werift (npm: a WebRTC stack written in TypeScript, independent of
// libdatachannel): one sendonly Opus transceiver, a non-trickle offer, and the same pre-encoded
// 440 Hz tone the other test clients send, one 20 ms packet every 20 ms through werift's own RTP
// sender (it stamps SSRC and SRTP itself; sequence numbers and timestamps are ours, on the wall
// clock). It counts what werift took, so a recording can be checked against what was sent.
import { RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from "werift";
import { encodedTone } from "./client-peer.js";

export interface WeriftCall {
  /** the session's URL path (the WHIP resource) */
  location: string;
  /** 20 ms packets werift's sender accepted */
  packetsSent: number;
  /** when the client ended (its DELETE, or its close), ms since epoch */
  closedAt: number;
  deleteStatus?: number;
}

export async function weriftWhipCall(o: {
  /** the WHIP endpoint, with its query (`…/v1/whip?profile=record`) */
  url: string;
  token: string;
  frames: number;
  /** connected and silent this long after the last packet, before the end */
  idleS: number;
  /** end with a DELETE (RFC 9725 §4.3) before closing the peer */
  delete: boolean;
}): Promise<WeriftCall> {
  const pc = new RTCPeerConnection({
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2 })],
      video: [],
    },
    iceUseIpv6: false,
  });
  try {
    const transceiver = pc.addTransceiver("audio", { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
    while (pc.iceGatheringState !== "complete") await new Promise((r) => setTimeout(r, 5));
    const res = await fetch(o.url, {
      method: "POST",
      headers: { authorization: `Bearer ${o.token}`, "content-type": "application/sdp" },
      body: pc.localDescription!.sdp,
    });
    const answer = await res.text();
    if (res.status !== 201) throw new Error(`WHIP POST: ${res.status} ${answer}`);
    const location = new URL(res.headers.get("location")!, o.url).pathname;
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    const deadline = Date.now() + 10_000;
    while (pc.connectionState !== "connected") {
      if (Date.now() > deadline) throw new Error(`werift did not connect (${pc.connectionState})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    // the payload type the answer gave Opus
    const pt = Number(/a=rtpmap:(\d+) opus\/48000/i.exec(answer)?.[1]);
    if (!Number.isInteger(pt)) throw new Error("no Opus payload type in the answer");
    const tone = encodedTone("opus");
    const seq0 = Math.floor(Math.random() * 0x8000);
    const ts0 = Math.floor(Math.random() * 0x7fffffff);
    const start = performance.now();
    let packetsSent = 0;
    for (let i = 0; i < o.frames; i++) {
      // on the wall clock: packet i leaves at start + 20 i ms
      const wait = start + i * 20 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const header = new RtpHeader({
        payloadType: pt,
        sequenceNumber: (seq0 + i) & 0xffff,
        timestamp: (ts0 + i * 960) >>> 0,
        marker: i === 0,
      });
      await transceiver.sender.sendRtp(new RtpPacket(header, tone[i % tone.length]!));
      packetsSent++;
    }
    await new Promise((r) => setTimeout(r, o.idleS * 1000));
    const closedAt = Date.now();
    let deleteStatus: number | undefined;
    if (o.delete) {
      const del = await fetch(new URL(location, o.url), {
        method: "DELETE",
        headers: { authorization: `Bearer ${o.token}` },
      });
      deleteStatus = del.status;
    }
    return { location, packetsSent, closedAt, ...(deleteStatus !== undefined ? { deleteStatus } : {}) };
  } finally {
    await pc.close();
  }
}
