// SDP text edits the node makes on its own answers and reads from trickle fragments.

/**
 * 1:1 NAT (as mediasoup's announcedIp): the host candidates carry the private bind address; the
 * public address is written in their place (and in c= lines) so the client dials the public one.
 * Duplicate candidates (several interfaces mapped to one public address) are dropped.
 */
export function announceAddress(sdp: string, announced: string | undefined): string {
  if (!announced) return sdp;
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of sdp.split(/\r?\n/)) {
    // RFC 8839 §5.1: candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
    const c = /^a=candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ host(.*)$/i.exec(line);
    if (c) {
      if (c[5]!.includes(":")) continue; // IPv6 host candidate: the announced address is IPv4
      const key = `${c[2]} ${c[3]!.toLowerCase()} ${c[6]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(`a=candidate:${c[1]} ${c[2]} ${c[3]} ${c[4]} ${announced} ${c[6]} typ host${c[7]}`);
      continue;
    }
    if (/^c=IN IP4 /.test(line)) {
      out.push(`c=IN IP4 ${announced}`);
      continue;
    }
    out.push(line);
  }
  return out.join(eol);
}

/**
 * libdatachannel needs a profile string for every codec it names; a codec offered without
 * a=fmtp (Chromium's VP8) is added with "" and comes out as a bare `a=fmtp:<pt> ` line, which
 * RFC 8866 §6.15 does not allow (format-specific parameters follow). Such lines are dropped.
 */
export function dropEmptyFmtp(sdp: string): string {
  return sdp.replace(/^a=fmtp:\d+ *\r?\n/gm, "");
}

/**
 * The Opus fmtp of our answer: our own parameters, not the offer's. RFC 7587 §7.1 has each side
 * declare its own: `stereo` what it prefers to *receive*, `sprop-stereo` what it is likely to
 * *send*, and so on. An answer that echoed the offer told a Firefox caller (whose offer says
 * `stereo=1`) that we prefer to receive stereo — a libwebrtc sender then upmixes its microphone
 * to a stereo encoder we only downmix again — and echoed `sprop-stereo=1` claimed we send stereo,
 * while every profile sends mono.
 * - `minptime=10`: we take 10 ms packets; `useinbandfec=1`: we decode in-band FEC (a libwebrtc
 *   sender codes it only when the receiver's fmtp asks);
 * - `stereo=1` only when we record the caller in stereo (its offer said `sprop-stereo=1`):
 *   without it a libwebrtc sender sends mono whatever it declared.
 */
export function opusAnswerFmtp(receiveStereo: boolean): string {
  return receiveStereo ? "minptime=10;useinbandfec=1;stereo=1" : "minptime=10;useinbandfec=1";
}

export interface TrickleFragment {
  iceUfrag?: string;
  icePwd?: string;
  /** candidates with the mid of the m-line they follow (RFC 8840 §3) */
  candidates: { candidate: string; mid?: string }[];
  endOfCandidates: boolean;
}

/** Parse an application/trickle-ice-sdpfrag body (RFC 8840 §9, RFC 9725 §4.4.1). */
export function parseSdpFrag(frag: string): TrickleFragment {
  const result: TrickleFragment = { candidates: [], endOfCandidates: false };
  let mid: string | undefined;
  for (const raw of frag.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("a=ice-ufrag:")) result.iceUfrag = line.slice(12);
    else if (line.startsWith("a=ice-pwd:")) result.icePwd = line.slice(10);
    else if (line.startsWith("m=")) mid = undefined;
    else if (line.startsWith("a=mid:")) mid = line.slice(6);
    else if (line.startsWith("a=candidate:"))
      result.candidates.push(
        mid === undefined ? { candidate: line.slice(2) } : { candidate: line.slice(2), mid },
      );
    else if (line === "a=end-of-candidates") result.endOfCandidates = true;
  }
  return result;
}

/**
 * The ICE generation a fragment belongs to: the `ufrag` its candidates carry (libwebrtc writes it
 * into every candidate line) when they agree, else its a=ice-ufrag line. The candidates win
 * because a client may write the line wrong: medooze whip.js and whep.js send "a=ice-ufrag:null"
 * when they trickle before their setLocalDescription has resolved (a busy browser: they schedule
 * the first PATCH before it, and read their ufrag after it). A line that says "null" or
 * "undefined" — a JavaScript client's unset value, never a ufrag it offered — is no ufrag: its
 * end-of-candidates alone was refused as an ICE restart (422), and the client threw.
 */
export function fragmentUfrag(frag: TrickleFragment): string | undefined {
  const own = new Set(frag.candidates.map((c) => /\sufrag\s+(\S+)/.exec(c.candidate)?.[1]));
  if (own.size === 1) {
    const [ufrag] = own;
    if (ufrag !== undefined) return ufrag;
  }
  return frag.iceUfrag === "null" || frag.iceUfrag === "undefined" ? undefined : frag.iceUfrag;
}

/** The a=ice-ufrag of our answer (to tell a trickle from an ICE restart, RFC 9725 §4.4.1.2). */
export function iceUfragOf(sdp: string): string | undefined {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
}
