/**
 * The XML answers of the EC2 query protocol as nested objects, in the shape @aws-sdk/xml-builder's `parseXML`
 * gives: `{ Root: value }`, where an element with child elements is an object of its children, a child repeated
 * is an array, an element with text only is that text (entities decoded) and an empty one is `''`.
 *
 * Why not `parseXML` itself: it builds every tag name and text one character at a time with `+=`, 44 MiB of
 * garbage for one DescribeNetworkInterfaces answer of 1,000 ENIs (1.5 MB of XML), enough to make V8 grow its young
 * generation on the watch's first tick. This one finds tags with `indexOf` and takes names and texts with `slice`
 * (bench/ec2-xml.ts measures both), copying the texts out so that none keeps the answer alive. fast-xml-parser 5
 * is no help: 98 MiB for the same answer.
 *
 * What it leaves out, none of which an EC2 answer has: attributes (read past, never kept; the root's `xmlns` is
 * the only one EC2 sends) and DTDs (a DOCTYPE is skipped, its entities are not defined). As `parseXML` does, text
 * beside child elements goes under `#text`, and a whitespace run with a line break is formatting and dropped.
 */

export type XmlValue = string | XmlObject | XmlValue[];
export interface XmlObject {
  [name: string]: XmlValue;
}

/** Parses `xml`; throws an Error when it is not XML (no root element, a tag left open, mismatched tags). */
export const parseQueryXml = (xml: string): XmlObject => new Parser(xml).document();

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;

class Parser {
  readonly #x: string;
  #i = 0;

  constructor(xml: string) {
    this.#x = xml;
  }

  document(): XmlObject {
    const x = this.#x;
    for (;;) {
      this.#skipSpace();
      if (this.#i >= x.length) throw new Error('XML parse error: no root element.');
      if (x.startsWith('<?', this.#i)) this.#skipPast('?>');
      else if (x.startsWith('<!--', this.#i)) this.#skipPast('-->');
      else if (x.startsWith('<!DOCTYPE', this.#i)) this.#skipDoctype();
      else if (x.charCodeAt(this.#i) === LT) {
        const root: XmlObject = {};
        this.#element(root);
        return root;
      } else throw new Error('XML parse error: unexpected content before the root element.');
    }
  }

  /** Reads the element at `<` and adds it to `parent` under its name. */
  #element(parent: XmlObject): void {
    const x = this.#x;
    const nameStart = this.#i + 1;
    let i = nameStart;
    while (i < x.length && !endsName(x.charCodeAt(i))) i++;
    const name = x.slice(nameStart, i);
    if (name === '') throw new Error('XML parse error: a tag without a name.');
    const end = this.#endOfStartTag(i);
    this.#i = end + 1;
    if (x.charCodeAt(end - 1) === SLASH) {
      add(parent, name, '');
      return;
    }

    let children: XmlObject | undefined;
    let text = '';
    for (;;) {
      const lt = x.indexOf('<', this.#i);
      if (lt === -1) throw new Error(`XML parse error: <${name}> is never closed.`);
      if (lt > this.#i) text += this.#text(this.#i, lt);
      this.#i = lt;
      if (x.startsWith('</', lt)) break;
      if (x.startsWith('<!--', lt)) this.#skipPast('-->');
      else if (x.startsWith('<![CDATA[', lt)) {
        this.#i += 9;
        const stop = this.#indexOf(']]>');
        text += detached(lineEnds(x.slice(this.#i, stop)));
        this.#i = stop + 3;
      } else if (x.startsWith('<?', lt)) this.#skipPast('?>');
      else {
        children ??= {};
        this.#element(children);
      }
    }
    // At `</`: the name must match, then optional space, then `>`.
    let close = this.#i + 2;
    if (!x.startsWith(name, close)) throw new Error(`XML parse error: <${name}> closed by another tag.`);
    close += name.length;
    while (isSpace(x.charCodeAt(close))) close++;
    if (x.charCodeAt(close) !== GT) throw new Error(`XML parse error: <${name}> closed by another tag.`);
    this.#i = close + 1;

    if (children === undefined) add(parent, name, text);
    else {
      if (text !== '') add(children, '#text', text);
      add(parent, name, children);
    }
  }

  /** The `>` ending a start tag whose name ends at `from`, past any attributes (a quoted value may hold `>`). */
  #endOfStartTag(from: number): number {
    const x = this.#x;
    let quote = 0;
    for (let i = from; i < x.length; i++) {
      const c = x.charCodeAt(i);
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === 0x22 || c === 0x27) quote = c;
      else if (c === GT) return i;
    }
    throw new Error('XML parse error: a start tag is never ended.');
  }

  /** The text from `start` to `end`, entities decoded; '' for a whitespace run with a line break (formatting). */
  #text(start: number, end: number): string {
    const x = this.#x;
    let newline = false;
    let i = start;
    for (; i < end; i++) {
      const c = x.charCodeAt(i);
      if (!isSpace(c)) break;
      if (c === 0x0a || c === 0x0d) newline = true;
    }
    if (i === end && newline) return '';
    const raw = lineEnds(x.slice(start, end));
    return detached(raw.includes('&') ? decodeEntities(raw) : raw);
  }

  #indexOf(stop: string): number {
    const at = this.#x.indexOf(stop, this.#i);
    if (at === -1) throw new Error(`XML parse error: "${stop}" not found.`);
    return at;
  }

  #skipPast(stop: string): void {
    this.#i = this.#indexOf(stop) + stop.length;
  }

  #skipSpace(): void {
    while (isSpace(this.#x.charCodeAt(this.#i))) this.#i++;
  }

  /** Past `<!DOCTYPE …>`, whose internal subset `[…]` may hold `>`. */
  #skipDoctype(): void {
    const x = this.#x;
    let depth = 0;
    for (let i = this.#i + 9; i < x.length; i++) {
      const c = x[i];
      if (c === '[') depth++;
      else if (c === ']') depth--;
      else if (c === '>' && depth === 0) {
        this.#i = i + 1;
        return;
      }
    }
    throw new Error('XML parse error: a DOCTYPE is never ended.');
  }
}

/**
 * A copy of `s` that does not keep the whole answer alive. V8 makes a slice of 13 characters or more a view into its
 * parent, and an ENI id kept by a cache would hold its 1.5 MB answer (an external string, outside the V8 heap) for as
 * long as the task runs: 30 MiB for 20 answers of 1,000 ENIs. Flattening ` ` + s copies it; the slice after is then a
 * view into that small copy.
 */
const detached = (s: string): string => (s.length < 13 ? s : ` ${s}`.slice(1));

/** XML's end-of-line handling (CR LF and CR are read as LF), as parseXML does. */
const lineEnds = (s: string): string => (s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s);

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
const endsName = (c: number): boolean => c === GT || c === SLASH || isSpace(c);

/** A second element of the same name makes an array; `__proto__` is an own key like any other name. */
const add = (node: XmlObject, name: string, value: XmlValue): void => {
  if (!Object.hasOwn(node, name)) {
    if (name === '__proto__') Object.defineProperty(node, name, { value, writable: true, enumerable: true });
    else node[name] = value;
    return;
  }
  const prev = node[name] as XmlValue;
  if (Array.isArray(prev)) prev.push(value);
  else node[name] = [prev, value];
};

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

const decodeEntities = (s: string): string =>
  s.replace(/&(?:#x([0-9a-fA-F]{1,6})|#(\d{1,7})|([a-zA-Z][a-zA-Z0-9]{0,30}));/g, (_, hex, dec, named) => {
    if (hex) return codePoint(Number.parseInt(hex, 16));
    if (dec) return codePoint(Number.parseInt(dec, 10));
    return ENTITIES[named] ?? '';
  });

const codePoint = (n: number): string => (n <= 0x10ffff ? String.fromCodePoint(n) : '');
