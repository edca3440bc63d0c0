/** IPv4/IPv6 addresses and CIDR blocks as bigints, for ipBlocks and NetworkPolicy. */
export interface Cidr {
  v6: boolean;
  base: bigint;
  bits: number;
}

export function parseIp(text: string): { v6: boolean; value: bigint } | null {
  // Neither form below can match unless the text starts with a digit or holds a colon (a host name, most often).
  const c0 = text.charCodeAt(0);
  if (!(c0 >= 48 && c0 <= 57) && !text.includes(':')) return null;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split('.').map(Number);
    if (parts.some((p) => p > 255)) return null;
    return { v6: false, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
  }
  if (text.includes(':') && /^[0-9a-fA-F:.]+$/.test(text)) {
    // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hex groups.
    const v4 = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
    if (v4) {
      const tail = parseIp(v4[2] as string);
      if (!tail || tail.v6) return null;
      const n = Number(tail.value);
      return parseIp(`${v4[1]}${((n >>> 16) & 0xffff).toString(16)}:${(n & 0xffff).toString(16)}`);
    }
    const halves = text.split('::');
    if (halves.length > 2) return null;
    const head = halves[0] ? halves[0].split(':') : [];
    const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
    const groups = [...head, ...tail];
    if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
    const missing = 8 - groups.length;
    if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
    const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
    return { v6: true, value: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  return null;
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | null {
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined || addr === undefined) return null;
  const ip = parseIp(addr);
  if (!ip) return null;
  const max = ip.v6 ? 128 : 32;
  const bits = len === undefined ? max : /^\d+$/.test(len) ? Number(len) : NaN;
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return null;
  const shift = BigInt(max - bits);
  return { v6: ip.v6, base: (ip.value >> shift) << shift, bits };
}

export function cidrContains(cidr: Cidr, ipText: string): boolean {
  const ip = parseIp(ipText);
  if (!ip || ip.v6 !== cidr.v6) return false;
  const shift = BigInt((cidr.v6 ? 128 : 32) - cidr.bits);
  return (ip.value >> shift) << shift === cidr.base;
}
