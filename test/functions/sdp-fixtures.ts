// Hand-written SDP offers for the refusal cases (the accepted ones come from real client peers).
const head = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
const ice =
  "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\na=fingerprint:sha-256 00:11\r\na=setup:actpass\r\n";

export const VIDEO_ONLY = `${head}m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n${ice}a=rtpmap:96 VP8/90000\r\na=sendonly\r\n`;
export const G722_ONLY = `${head}m=audio 9 UDP/TLS/RTP/SAVPF 9\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n${ice}a=rtpmap:9 G722/8000\r\na=sendonly\r\n`;
export const TWO_AUDIO = `${head}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n${ice}a=rtpmap:111 opus/48000/2\r\na=sendonly\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n${ice}a=rtpmap:111 opus/48000/2\r\na=sendonly\r\n`;
export const NOT_SDP = "hello, this is not a session description";
export const NO_MEDIA = `${head}`;

/** An RFC 8840 trickle fragment carrying one host candidate with the given ICE credentials. */
export function trickleFrag(ufrag: string, pwd: string, port = 50000): string {
  return (
    `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n` +
    `a=candidate:1 1 UDP 2122252543 127.0.0.1 ${port} typ host\r\n`
  );
}

export function iceCredentials(sdp: string): { ufrag: string; pwd: string } {
  return {
    ufrag: /a=ice-ufrag:(\S+)/.exec(sdp)![1]!,
    pwd: /a=ice-pwd:(\S+)/.exec(sdp)![1]!,
  };
}
