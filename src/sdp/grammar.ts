// RFC 8866 grammar, line by line, before any lenient parser reads the text. sdp-transform (and
// libdatachannel) skip what they do not recognise, so a line broken in transit — an offer cut
// short so it ends in `m=aud` — would otherwise be read as a line that is *missing* and refused
// for the wrong reason ("no audio m-line"). Here a line that breaks the grammar is named, with its
// number, so the client sees what is wrong. Only the syntax of each line (RFC 8866 §9) and the
// order of the three lines every description starts with (v=, o=, s=) are checked; what the lines
// mean is the offer validator's job.

/** RFC 8866 §9 token-char: any visible ASCII but the separators */
const TOKEN = "[!#$%&'*+\\-.0-9A-Z^_`a-z{|}~]+";
const INTEGER = "(?:0|[1-9][0-9]*)";
/** a non-empty byte-string without spaces (RFC 8866 §9 non-ws-string) */
const NON_WS = "[^\\s\\x00]+";
/** RFC 8866 §9 text / byte-string: anything but NUL, CR and LF, at least one byte */
// biome-ignore lint/suspicious/noControlCharactersInRegex: RFC 8866 text excludes NUL by name
const TEXT = /^[^\x00\r\n]+$/;

interface LineRule {
  /** the value's grammar (the text after `<type>=`) */
  re: RegExp;
  /** the form shown to the client when the value does not match */
  form: string;
  /** the RFC 8866 section defining it */
  section: string;
}

/** value grammars of the RFC 8866 types (k= is obsolete but still defined; §5.12) */
const RULES: Record<string, LineRule> = {
  v: { re: /^0$/, form: "v=0", section: "5.1" },
  o: {
    re: new RegExp(`^${NON_WS} [0-9]+ [0-9]+ ${TOKEN} ${TOKEN} ${NON_WS}$`),
    form: "o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>",
    section: "5.2",
  },
  s: { re: TEXT, form: "s=<session name> (a single space if none)", section: "5.3" },
  i: { re: TEXT, form: "i=<session description>", section: "5.4" },
  u: { re: /^\S+$/, form: "u=<uri>", section: "5.5" },
  e: { re: TEXT, form: "e=<email-address>", section: "5.6" },
  p: { re: TEXT, form: "p=<phone-number>", section: "5.6" },
  c: {
    re: new RegExp(`^${TOKEN} ${TOKEN} ${NON_WS}$`),
    form: "c=<nettype> <addrtype> <connection-address>",
    section: "5.7",
  },
  b: { re: new RegExp(`^${TOKEN}:[0-9]+$`), form: "b=<bwtype>:<bandwidth>", section: "5.8" },
  t: { re: /^[0-9]+ [0-9]+$/, form: "t=<start-time> <stop-time>", section: "5.9" },
  r: {
    re: /^[0-9]+[dhms]?( [0-9]+[dhms]?){2,}$/,
    form: "r=<repeat interval> <active duration> <offsets>",
    section: "5.10",
  },
  z: {
    re: /^[0-9]+ -?[0-9]+[dhms]?( [0-9]+ -?[0-9]+[dhms]?)*$/,
    form: "z=<adjustment time> <offset> ...",
    section: "5.11",
  },
  k: { re: TEXT, form: "k=<method>[:<encryption key>]", section: "5.12" },
  a: {
    re: new RegExp(`^${TOKEN}(?::[^\\x00\\r\\n]*)?$`),
    form: "a=<attribute-name>[:<attribute-value>]",
    section: "5.13",
  },
  m: {
    // port 0–65535, optional /<number of ports>, proto = token *("/" token), one or more fmt
    re: new RegExp(`^${TOKEN} ${INTEGER}(?:/${INTEGER})? ${TOKEN}(?:/${TOKEN})*(?: ${TOKEN})+$`),
    form: "m=<media> <port>[/<number of ports>] <proto> <fmt> ...",
    section: "5.14",
  },
};

/** The first three lines of every session description, in this order (RFC 8866 §5). */
const HEAD = ["v", "o", "s"] as const;

const MAX_SHOWN = 60;

/** A line as it is quoted back to the client: bounded, control characters escaped. */
function shown(line: string): string {
  const cut = line.length > MAX_SHOWN ? `${line.slice(0, MAX_SHOWN)}…` : line;
  return JSON.stringify(cut);
}

/** What the 60 characters quoted back would hide, or not show as the cause: the text's encoding
 *  (a byte-order mark, a carriage return without its line feed). */
function encodingError(line: string): string | undefined {
  if (line.charCodeAt(0) === 0xfeff)
    return "starts with a byte-order mark (U+FEFF): send the description as UTF-8 without one";
  if (line.includes("\r"))
    return "has a carriage return not followed by a line feed (RFC 8866 §5: lines end with CRLF)";
  return undefined;
}

/** Why one `<type>=<value>` line breaks the grammar, or undefined if it does not. */
export function sdpLineError(line: string): string | undefined {
  const encoding = encodingError(line);
  if (encoding) return encoding;
  const m = /^([a-z])=(.*)$/s.exec(line);
  if (!m) {
    if (line === "") return "is empty (RFC 8866 §5: every line is <type>=<value>)";
    return "is not <type>=<value> with a one-letter type (RFC 8866 §5)";
  }
  const type = m[1]!;
  const rule = RULES[type];
  if (!rule) return `has the unknown type "${type}=" (RFC 8866 §5: a description with one is refused)`;
  if (!rule.re.test(m[2]!)) return `is not "${rule.form}" (RFC 8866 §${rule.section})`;
  if (type === "m") {
    const port = Number(m[2]!.split(" ")[1]!.split("/")[0]);
    if (port > 65535) return `has the port ${port}, above 65535 (RFC 8866 §5.14)`;
  }
  return undefined;
}

/** Lines of an SDP text: CRLF (RFC 8866 §5), LF tolerated; the empty tail after the last break dropped. */
function linesOf(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * The first grammar error of a whole session description, naming its line
 * (`line 23 "m=aud" is not "m=<media> …" (RFC 8866 §5.14)`), or undefined if every line is well formed.
 */
export function sdpGrammarError(sdp: string): string | undefined {
  const lines = linesOf(sdp);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const err = sdpLineError(line);
    // a body that is not SDP at all (or starts elsewhere) is told where SDP starts, unless its
    // encoding is what is wrong
    if (i === 0 && !line.startsWith("v=") && !encodingError(line))
      return `line 1 ${shown(line)} is not v=0: a session description starts with it (RFC 8866 §5.1)`;
    if (err) return `line ${i + 1} ${shown(line)} ${err}`;
    const want = HEAD[i];
    if (want && line[0] !== want)
      return `line ${i + 1} ${shown(line)} should be the ${want}= line (RFC 8866 §5: v=, o=, s= come first, in that order)`;
  }
  if (lines.length < HEAD.length)
    return `the description ends after ${lines.length} line(s), before its s= line`;
  return undefined;
}

/**
 * The first grammar error of an RFC 8840 trickle fragment (attribute and m= lines, no session
 * head), or undefined.
 */
export function sdpFragGrammarError(frag: string): string | undefined {
  const lines = linesOf(frag);
  for (let i = 0; i < lines.length; i++) {
    const err = sdpLineError(lines[i]!);
    if (err) return `line ${i + 1} ${shown(lines[i]!)} ${err}`;
  }
  return undefined;
}
