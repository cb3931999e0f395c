import { describe, expect, it } from 'vitest';
import { decodeEntities, htmlToText, MAX_HTML_CHARS } from '../../src/mail/html-to-text.js';
import { splitSections } from '../../src/mail/text-sections.js';

describe('htmlToText', () => {
  it.each([
    ['plain text', 'Please arrange bloods.', 'Please arrange bloods.'],
    ['paragraphs: blank line between', '<p>Dear Dr Patel,</p><p>Please arrange an ECG.</p>', 'Dear Dr Patel,\n\nPlease arrange an ECG.'],
    ['divs: blank line between', '<div>one</div><div>two</div>', 'one\n\ntwo'],
    ['nested blocks do not add up', '<div><div><p>one</p></div></div><div><p>two</p></div>', 'one\n\ntwo'],
    ['br is a line break', 'line one<br>line two<br/>line three', 'line one\nline two\nline three'],
    ['several br: at most one blank line', 'a<br><br><br><br>b', 'a\n\nb'],
    ['empty Outlook paragraphs vanish', '<p class=MsoNormal>a<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>b</p>', 'a\n\nb'],
    ['head, style, script, title dropped', '<html><head><title>T</title><style>p{color:red}</style></head><body><script>alert(1)</script><p>text</p></body></html>', 'text'],
    ['style with no head, upper case', '<STYLE type="text/css">.x{}</STYLE><P>text</P>', 'text'],
    ['comments and conditional comments dropped', '<!--[if gte mso 9]><xml><o:shapedefaults/></xml><![endif]-->a<!-- hidden -->b<![if !supportLists]>c<![endif]>', 'abc'],
    ['unclosed comment drops the rest', 'a<!-- never closed <p>b</p>', 'a'],
    ['inline elements add nothing', 'Please <b>arrange</b> <span style="x">an</span> <i>ECG</i>.', 'Please arrange an ECG.'],
    ['white space collapsed, lines trimmed', '<p>  a \n\t b   </p>\n\n<p>\n c </p>', 'a b\n\nc'],
    ['nbsp becomes a space', 'a&nbsp;&nbsp;&nbsp;b\u00a0\u00a0c', 'a b c'],
    ['list items', '<ul><li>FBC</li><li>U&amp;E</li></ul>', '* FBC\n* U&E'],
    ['ordered list items', '<ol><li>one</li><li>two</li></ol>', '1. one\n2. two'],
    ['table rows are lines, cells spaced', '<table><tr><td>Name:</td><td>Ann</td></tr><tr><td>DOB:</td><td>1/1/1990</td></tr></table>', 'Name: Ann\nDOB: 1/1/1990'],
    ['headings are paragraphs', '<h1>Title</h1><h2>Sub</h2>text', 'Title\n\nSub\n\ntext'],
    ['hr separates paragraphs', 'a<hr>b', 'a\n\nb'],
    ['blockquote lines quoted', '<p>Yes.</p><blockquote><p>Can you arrange bloods?</p><p>Thanks</p></blockquote>', 'Yes.\n\n> Can you arrange bloods?\n\n> Thanks'],
    ['pre keeps line breaks', '<pre>a\nb\n\nc</pre>', 'a\nb\n\nc'],
    ['link target shown when different', '<a href="https://evil.example/x">https://nhs.net/login</a>', 'https://nhs.net/login [https://evil.example/x]'],
    ['link target hidden when same', '<a href="https://nhs.net/x">https://nhs.net/x</a>', 'https://nhs.net/x'],
    ['mailto same as text hidden', '<a href="mailto:a@nhs.net">a@nhs.net</a>', 'a@nhs.net'],
    ['fragment link target hidden', '<a href="#top">top</a>', 'top'],
    ['quoted > in attribute', '<p title="a > b">text</p>', 'text'],
    ['lone < is text', 'a < b and 3<4', 'a < b and 3<4'],
    ['unclosed tag drops the rest', 'a <p class="x', 'a'],
    ['images dropped', 'a<img src="logo.png" alt="NHS logo">b', 'ab'],
  ])('%s', (_name, html, text) => {
    expect(htmlToText(html)).toBe(text);
  });

  it.each([
    ['&amp;&lt;&gt;&quot;&#39;&apos;', '&<>"\'\''],
    ['&pound;10 &copy; &hellip;', '£10 © …'],
    ['&lsquo;a&rsquo; &ldquo;b&rdquo; &ndash; &mdash;', '‘a’ “b” – —'],
    ['&#8211; &#x2013; &#X2014; &#163;', '– – — £'],
    ['&#150; &#146;', '– ’'],
    ['&#0;&#xD800;&#x110000;&#99999999999;', ''],
    ['&unknown; &amp &nbsp x', '&unknown; &   x'],
    ['a & b && c &; &#; &#x;', 'a & b && c &; &#; &#x;'],
    ['&eacute;t&eacute;', 'été'],
  ])('decodes %s', (input, output) => {
    expect(decodeEntities(input)).toBe(output);
  });

  it('decoded markup stays text', () => {
    expect(htmlToText('&lt;script&gt;alert(1)&lt;/script&gt;')).toBe('<script>alert(1)</script>');
  });

  it('keeps the Outlook quoted-history block on lines text-sections recognises', () => {
    const html =
      '<div class=WordSection1><p class=MsoNormal>Please arrange an ECG.<o:p></o:p></p><p class=MsoNormal>Kind regards<o:p></o:p></p>' +
      '<div style="border:none;border-top:solid #E1E1E1 1.0pt"><p class=MsoNormal><b>From:</b> PCN &lt;pcn@nhs.net&gt;<br><b>Sent:</b> 12 January 2026 10:00<br><b>To:</b> Ward<br><b>Subject:</b> urgent</p></div>' +
      '<p class=MsoNormal>This is urgent</p></div>';
    const text = htmlToText(html);
    expect(text).toContain('\nFrom: PCN <pcn@nhs.net>\nSent: 12 January 2026 10:00\n');
    const sections = splitSections(text);
    expect(sections.newText).toContain('Please arrange an ECG.');
    expect(sections.newText).not.toMatch(/urgent/i);
    expect(sections.quotedText).toMatch(/^From: PCN/);
  });

  it.each([
    ['-----Original Message-----', '<p>ok</p><p>-----Original Message-----<br>From: x<br>urgent</p>', /^-----Original Message-----/],
    ['On ... wrote:', '<div>ok</div><div>On 12 Jan 2026, at 10:00, PCN &lt;pcn@nhs.net&gt; wrote:<br></div><blockquote>urgent</blockquote>', /^On 12 Jan/],
  ])('%s marker starts the quoted history', (_name, html, start) => {
    const sections = splitSections(htmlToText(html));
    expect(sections.quotedText).toMatch(start);
    expect(sections.newText).not.toMatch(/urgent/i);
  });

  it.each([
    ['deep nesting', '<div>'.repeat(200_000) + 'x'],
    ['many unclosed comments', '<!--'.repeat(100_000)],
    ['many unclosed tags', '<a '.repeat(100_000)],
    ['many quotes', `<p ${'a="'.repeat(100_000)}`],
    ['many ampersands', '&'.repeat(300_000) + '&#'.repeat(100_000)],
    ['many style openers', '<style>'.repeat(100_000)],
    ['many closing-tag starts inside style', `<style>${'</'.repeat(200_000)}`],
    ['many href attributes', `<a ${'href '.repeat(100_000)}>x</a>`],
    ['many list items', '<ol>'.repeat(1000) + '<li>x'.repeat(100_000)],
    ['many blockquotes', '<blockquote>'.repeat(100_000) + 'x'],
  ])('linear time, no throw: %s', (_name, html) => {
    const start = performance.now();
    const text = htmlToText(html);
    expect(typeof text).toBe('string');
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it('caps the input size', () => {
    const text = htmlToText(`<p>${'a '.repeat(MAX_HTML_CHARS)}</p><p>tail</p>`);
    expect(text).not.toContain('tail');
    expect(text.length).toBeLessThanOrEqual(MAX_HTML_CHARS);
  });

  it('never throws on odd input', () => {
    for (const input of ['', '<', '&', '</', '<!', '<?', '<a href=', '<a href="x', '\u0000', '<p>\ud800</p>', '</a></ul></blockquote></pre>']) {
      expect(() => htmlToText(input)).not.toThrow();
    }
  });
});
