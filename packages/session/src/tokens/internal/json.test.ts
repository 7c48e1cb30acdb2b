import { describe, expect, it } from 'vitest';
import { hasDuplicateNames, parseJsonObject } from './json.js';

const parse = (text: string) => parseJsonObject(Buffer.from(text, 'utf8'));

describe('parseJsonObject', () => {
  it('parses objects and refuses every other JSON value', () => {
    expect(parse(' {"a":[1,{"b":"}"}]}')).toEqual({ a: [1, { b: '}' }] });
    for (const text of ['[]', '"x"', '1', 'null', 'true', '{', '', '{"a":1}x']) {
      expect(parse(text), text).toBeNull();
    }
  });

  it('refuses a repeated name at any depth, also when spelled with escapes', () => {
    expect(parse('{"a":1,"a":1}')).toBeNull();
    expect(parse('{"a":1,"\\u0061":2}')).toBeNull();
    expect(parse('{"x":[{"b":1,"b":2}]}')).toBeNull();
    expect(parse('{"x":{"a":1},"y":{"a":1}}')).not.toBeNull();
    expect(parse('{"a":"a","b":["a","a"]}')).not.toBeNull();
  });

  it('counts names exactly around multi-byte characters and colons inside strings', () => {
    expect(parse('{"é:":"日本:","iss":"https://a"}')).toEqual({ 'é:': '日本:', iss: 'https://a' });
    expect(parse('{"é:":1,"é:":2}')).toBeNull();
    expect(parse('{"a":{"b":[{"c":":"}]},"d":[]}')).not.toBeNull();
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(
      parseJsonObject(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d])),
    ).toBeNull();
  });

  it('treats escaped quotes inside strings as string content', () => {
    expect(hasDuplicateNames('{"a\\"":1,"a":2}')).toBe(false);
    expect(hasDuplicateNames('{"k":"\\\\","k":1}')).toBe(true);
  });
});
