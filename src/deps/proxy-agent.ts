// The agent a request goes through when a proxy is configured: `http-proxy-agent` (absolute-URI
// requests to the proxy) for http, `https-proxy-agent` (a CONNECT tunnel, then TLS to the origin)
// for https. Loaded by http-attempt.ts only when proxyFor() picked a proxy, so a staging without
// one never pays for this code at start-up.

import type { Agent, ClientRequest } from 'node:http';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';

export interface ProxyAgentOptions {
  /** Extra trusted CA certificates for the origin (and for an https proxy). */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Destroys the socket to the proxy when aborted, even while the agent still waits for the
   * proxy's answer to CONNECT (the agent does not watch the request for that).
   */
  signal: AbortSignal;
}

/**
 * HttpsProxyAgent takes the TLS options of the tunnelled connection from the request, and
 * node-fetch passes none: the extra CA is added here.
 */
class TunnelAgent extends HttpsProxyAgent<string> {
  constructor(proxy: URL, private readonly ca: ProxyAgentOptions['ca'], signal: AbortSignal) {
    super(proxy, { keepAlive: false, ca, signal });
  }

  override connect(req: ClientRequest, opts: Parameters<HttpsProxyAgent<string>['connect']>[1]): ReturnType<HttpsProxyAgent<string>['connect']> {
    return super.connect(req, opts.secureEndpoint && this.ca !== undefined ? { ...opts, ca: this.ca } : opts);
  }
}

/** An agent sending requests for `target` (http: or https:) through `proxy`. */
export function proxyAgent(proxy: URL, target: URL, o: ProxyAgentOptions): Agent {
  if (target.protocol === 'https:') return new TunnelAgent(proxy, o.ca, o.signal);
  return new HttpProxyAgent(proxy, { keepAlive: false, signal: o.signal });
}
