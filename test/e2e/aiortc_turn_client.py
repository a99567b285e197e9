"""A WHIP client that reaches the media node only through TURN over TCP or TLS: aiortc (Debian's
python3-aiortc 1.4 / aioice 0.8, whose TURN client speaks UDP, TCP and TLS) for
test/e2e/turn-tcp.test.ts.

As a WHIP client must, it learns the TURN server only from the 201's `Link: rel="ice-server"`
(RFC 9725 section 4.6), after its offer: it makes the offer (aiortc's offer carries the ICE
ufrag/pwd but no candidate yet), POSTs it, reads the Link header, and only then gathers, through
the TURN server. aiortc fixes its ICE servers when the peer is built and has no
iceTransportPolicy, so its ICE agent is rebuilt here with the Link's server, relay only
(aioice's TransportPolicy.RELAY) and IPv6 host sockets only (aioice never offers loopback; an
IPv6 socket cannot reach the node's 127.0.0.1): the same ufrag/pwd, so the node sees one peer.
The relayed candidate is then the only pair that can work.

A `turns:` URL makes aioice open TLS with Python's default verification: the test points
SSL_CERT_FILE at its self-signed certificate (subjectAltName IP:127.0.0.1), so the certificate and
host name are really checked.

Sends a 440 Hz tone for SECONDS after connecting, deletes the session with the same Bearer token
(RFC 9725 section 4.5) and prints one JSON line with what it saw.

usage: aiortc_turn_client.py URL TOKEN SECONDS
"""
import asyncio
import json
import re
import sys
import time

from aioice import Connection, TransportPolicy
from aiortc import RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcicetransport import connection_kwargs

from aiortc_client import Tone, request


def ice_servers(link):
    """RFC 8288 Link values with rel="ice-server": `<url>; name="value"; …`."""
    out = []
    for m in re.finditer(r'<([^>]*)>((?:\s*;\s*[A-Za-z-]+="[^"]*")*)', link or ""):
        params = {k.lower(): v for k, v in re.findall(r'([A-Za-z-]+)="([^"]*)"', m.group(2))}
        if params.get("rel") == "ice-server":
            out.append(
                RTCIceServer(
                    urls=m.group(1), username=params.get("username"), credential=params.get("credential")
                )
            )
    return out


async def main(url, token, seconds):
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver(Tone(), direction="sendonly")
    offer = await pc.createOffer()
    status, headers, answer = request(
        "POST", url, token, offer.sdp.encode(), {"Content-Type": "application/sdp"}
    )
    out = {"status": status, "location": headers.get("Location"), "link": headers.get("Link")}
    if status != 201:
        out["error"] = answer
        print(json.dumps(out))
        await pc.close()
        return
    servers = ice_servers(headers.get("Link"))
    out["iceServers"] = [{"urls": s.urls, "username": s.username} for s in servers]

    # the ICE agent rebuilt with the 201's TURN server, relay only, keeping the offer's ufrag/pwd
    ice = transceiver.sender.transport.transport
    gatherer = ice.iceGatherer
    old = gatherer._connection
    new = Connection(
        ice_controlling=False,
        transport_policy=TransportPolicy.RELAY,
        use_ipv4=False,
        **connection_kwargs(servers),
    )
    new.local_username = old.local_username
    new.local_password = old.local_password
    gatherer._connection = new
    ice._connection = new
    ice._recv = new.recv
    ice._send = new.send

    try:
        # aioice retries an unanswered UDP allocation for half a minute: a TURN server that cannot
        # be reached is known long before that
        await asyncio.wait_for(pc.setLocalDescription(offer), 10)
    except asyncio.TimeoutError:
        out["gatherTimedOut"] = True
        out["localCandidates"] = []
        out["connected"] = False
        st, _, _ = request("DELETE", url.split("/v1/")[0] + out["location"], token)
        out["deleteStatus"] = st
        print(json.dumps(out))
        return
    out["localCandidates"] = [
        {"type": c.type, "host": c.host, "transport": c.transport} for c in new.local_candidates
    ]
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    deadline = time.time() + 15
    while pc.connectionState != "connected" and time.time() < deadline:
        await asyncio.sleep(0.05)
    out["connected"] = pc.connectionState == "connected"
    out["connectedAt"] = time.time()
    nominated = new._nominated.get(1)
    if nominated is not None:
        out["selected"] = {
            "local": nominated.local_candidate.type,
            "remote": nominated.remote_candidate.type,
            "remoteHost": nominated.remote_candidate.host,
        }
    await asyncio.sleep(seconds if out["connected"] else 0)
    base = url.split("/v1/")[0]
    st, _, body = request("GET", base + out["location"], token)
    out["session"] = json.loads(body) if st == 200 else body
    out["endedAt"] = time.time()
    st, _, _ = request("DELETE", base + out["location"], token)
    out["deleteStatus"] = st
    await pc.close()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
