// A TCP proxy between the client and the server, for the tests of drops: it works at the byte level,
// so it serves ws:// and wss:// alike (TLS passes through it).
import net from "node:net";

/**
 * Starts a proxy to the server of the WebSocket URL `target`. Its `url` is `target` with the proxy's
 * address. Every connection through it can be held (the client's bytes are kept from the server),
 * made to swallow (the server's bytes are kept from the client) or cut (both sockets destroyed: the
 * client sees the network drop); new connections can be parked (accepted, then left waiting).
 */
export async function tcpProxy(target) {
  const upstream = new URL(target);
  const links = new Set();
  const parked = [];
  let parking = false;
  let accepted = 0;
  let onHeld = [];

  const link = (inbound) => {
    const outbound = net.connect(Number(upstream.port), upstream.hostname);
    const l = { inbound, outbound, hold: false, swallow: false };
    links.add(l);
    inbound.on("data", (chunk) => {
      if (!l.hold) return outbound.write(chunk);
      const waiting = onHeld;
      onHeld = [];
      waiting.forEach((resolve) => resolve());
    });
    outbound.on("data", (chunk) => {
      if (!l.swallow) inbound.write(chunk);
    });
    for (const socket of [inbound, outbound]) {
      socket.on("error", () => {});
      socket.on("close", () => {
        inbound.destroy();
        outbound.destroy();
        links.delete(l);
      });
    }
  };

  const server = net.createServer((inbound) => {
    accepted += 1;
    inbound.on("error", () => {});
    if (parking) parked.push(inbound);
    else link(inbound);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(target);
  url.hostname = "127.0.0.1";
  url.port = String(server.address().port);

  return {
    /** The server's URL through the proxy. */
    url: url.toString(),
    /** How many connections the proxy accepted. */
    get accepted() {
      return accepted;
    },
    /** From now on the client's bytes on the open connections go nowhere; resolves when some have come. */
    hold() {
      links.forEach((l) => (l.hold = true));
      return new Promise((resolve) => onHeld.push(resolve));
    },
    /** From now on the server's bytes on the open connections go nowhere. */
    swallow() {
      links.forEach((l) => (l.swallow = true));
    },
    /** New connections are accepted and left waiting (no bytes either way) until `release()`. */
    park() {
      parking = true;
    },
    /** Connects the parked connections, and the new ones from now on, to the server. */
    release() {
      parking = false;
      parked.splice(0).forEach(link);
    },
    /** Destroys every open connection, as a network drop does. */
    cut() {
      links.forEach((l) => {
        l.inbound.destroy();
        l.outbound.destroy();
      });
    },
    /** Cuts everything and stops listening. */
    close() {
      this.cut();
      parked.splice(0).forEach((socket) => socket.destroy());
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
