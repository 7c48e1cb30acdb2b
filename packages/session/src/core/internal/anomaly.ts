/**
 * Coarse client fingerprints for risk checks: the browser family of a User-Agent and the
 * network (IPv4 /24, IPv6 /48) of an address. They are recorded facts compared between
 * requests, never a hard binding (addresses and browsers change for honest reasons).
 */

const FAMILIES: Array<[RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bChrom(?:e|ium)\/|\bCriOS\//, 'Chrome'],
  [/\bSafari\//, 'Safari'],
  [/^curl\//, 'curl'],
  [/^Wget\//, 'Wget'],
  [/\bokhttp\//, 'okhttp'],
  [/^node-fetch|^undici|^node\b/, 'Node'],
  [/^python-requests|^python-httpx|^aiohttp/i, 'Python'],
];

/** The browser or client family of a User-Agent string ('' when unknown or absent). */
export function userAgentFamily(userAgent: string | undefined): string {
  if (!userAgent) return '';
  for (const [pattern, family] of FAMILIES) {
    if (pattern.test(userAgent)) return family;
  }
  return 'other';
}

/** The network an address belongs to: IPv4 /24, IPv6 /48 ('' when unknown). */
export function addressNetwork(address: string | undefined): string {
  if (!address) return '';
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/.exec(mapped);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (mapped.includes(':')) {
    const [head = ''] = mapped.split('::');
    const groups = head.split(':').filter(Boolean);
    while (groups.length < 3) groups.push('0');
    return `${groups.slice(0, 3).join(':').toLowerCase()}::/48`;
  }
  return '';
}
