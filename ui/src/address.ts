// LXMF addresses: 16 bytes, written as 32 hexadecimal digits.

const HEX32 = /^[0-9a-f]{32}$/

/** ADDRESS_HELP explains the address format to the user. */
export const ADDRESS_HELP =
  'An address is 32 hexadecimal digits (0–9 and a–f), as shown under "My address" on the other side.'

/**
 * parseAddress normalises what a user typed or pasted (spaces, surrounding <>,
 * upper case) to 32 lower-case hex digits, or returns null when it is not an address.
 */
export function parseAddress(input: string): string | null {
  let s = input.trim()
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1)
  s = s.replace(/\s+/g, '').toLowerCase()
  return HEX32.test(s) ? s : null
}

/** addressProblem says what is wrong with input, or '' when it is a valid address. */
export function addressProblem(input: string): string {
  const s = input.trim().replace(/^<|>$/g, '').replace(/\s+/g, '')
  if (!s) return 'Enter the address of the person to write to.'
  if (/[^0-9a-fA-F]/.test(s)) return `That is not an address: only 0–9 and a–f are allowed. ${ADDRESS_HELP}`
  if (s.length !== 32) return `That address has ${s.length} digits; it needs exactly 32. ${ADDRESS_HELP}`
  return ''
}

/** shortAddress shows the start and end of an address, e.g. "1a2b3c…7e8f". */
export function shortAddress(address: string): string {
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address
}
