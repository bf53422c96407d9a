import { SseParser } from './sse';

describe('SseParser', () => {
  it('parses one complete event with its type and data', () => {
    const parser = new SseParser();
    expect(parser.feed('event: token\ndata: {"text":"Bon"}\n\n')).toEqual([
      { event: 'token', data: '{"text":"Bon"}', id: undefined },
    ]);
  });

  it('returns several events delivered in one chunk, in order', () => {
    const parser = new SseParser();
    const events = parser.feed(
      'event: sources\ndata: {"a":1}\n\nevent: token\ndata: {"text":"x"}\n\nevent: done\ndata: {}\n\n',
    );
    expect(events.map((e) => e.event)).toEqual(['sources', 'token', 'done']);
    expect(events[0].data).toBe('{"a":1}');
  });

  it('reassembles an event split across reads, even inside a field name or value', () => {
    const parser = new SseParser();
    expect(parser.feed('eve')).toEqual([]);
    expect(parser.feed('nt: tok')).toEqual([]);
    expect(parser.feed('en\ndata: {"te')).toEqual([]);
    expect(parser.feed('xt":"jour"}\n')).toEqual([]);
    expect(parser.feed('\n')).toEqual([{ event: 'token', data: '{"text":"jour"}', id: undefined }]);
  });

  it('gives the same events whatever the chunk boundaries (one character at a time)', () => {
    const stream = 'event: token\r\ndata: {"text":"a"}\r\n\r\nevent: token\rdata: {"text":"b"}\r\rdata: plain\n\n';
    const whole = new SseParser().feed(stream);
    const parser = new SseParser();
    const split = [...stream].flatMap((ch) => parser.feed(ch));
    expect(split).toEqual(whole);
    expect(whole.map((e) => [e.event, e.data])).toEqual([
      ['token', '{"text":"a"}'],
      ['token', '{"text":"b"}'],
      ['message', 'plain'],
    ]);
  });

  it('does not dispatch twice when \\r\\n is split between two reads', () => {
    const parser = new SseParser();
    expect(parser.feed('data: x\r')).toEqual([]);
    expect(parser.feed('\n\r')).toEqual([]);
    expect(parser.feed('\n')).toHaveLength(1);
  });

  it('joins multi-line data with newlines, ignores comments and unknown fields, keeps the id', () => {
    const parser = new SseParser();
    const events = parser.feed(': keep-alive\nid: 7\nretry: 1000\nfoo: bar\ndata: line 1\ndata:line 2\n\n');
    expect(events).toEqual([{ event: 'message', data: 'line 1\nline 2', id: '7' }]);
  });

  it('ignores a blank-line-terminated block without data', () => {
    const parser = new SseParser();
    expect(parser.feed('event: ping\n\n')).toEqual([]);
  });

  it('delivers a last event missing its blank line on flush', () => {
    const parser = new SseParser();
    expect(parser.feed('event: done\ndata: {"answer_found":true}')).toEqual([]);
    expect(parser.flush()).toEqual([{ event: 'done', data: '{"answer_found":true}', id: undefined }]);
    expect(parser.flush()).toEqual([]);
  });
});
