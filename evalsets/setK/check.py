#!/usr/bin/env python3
"""Verify setK gold snippets and answers against the documents' extracted text.

PDF: pypdf extract_text per page, pages joined by newline.
HTML: decoded with the charset the file declares, <script>/<style> and comments dropped, tags
      stripped (checked twice: tags replaced by a space, and tags removed outright), entities unescaped.
Markdown / text: read as UTF-8, as is (universal newlines).
All texts then have whitespace collapsed to single spaces. Matching is exact (case-sensitive).
Pages: for the PDF (pypdf pages) and for paged plain text each gold snippet must lie within one page.
      Plain text is split at form feeds if it has any; otherwise (as in this set's RFC 959 copy,
      which has no form feeds) after each RFC page footer line ending in "[Page N]".
Unanswerable items: off-topic ones have id/q/kind; near-topic ones also name their doc.
Usage: python check.py            check everything
       python check.py --dump D   print document D's collapsed text (first reading) for reading
"""
import html, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(HERE, 'docs')

def collapse(s):
    return re.sub(r'\s+', ' ', s).strip()

def html_variants(path):
    raw = open(path, 'rb').read()
    m = re.search(rb'charset=["\']?([A-Za-z0-9_-]+)', raw[:4000])
    enc = m.group(1).decode('ascii') if m else 'utf-8'
    t = raw.decode(enc)
    t = re.sub(r'(?is)<(script|style)\b[^>]*>.*?</\1\s*>', ' ', t)
    t = re.sub(r'(?s)<!--.*?-->', ' ', t)
    out = []
    for rep in (' ', ''):
        s = re.sub(r'(?s)<[^>]+>', rep, t)
        out.append(collapse(html.unescape(s)))
    return out

def doc_texts(name):
    path = os.path.join(DOCS, name)
    if name.lower().endswith('.pdf'):
        import pypdf
        r = pypdf.PdfReader(path)
        return [collapse('\n'.join(p.extract_text() or '' for p in r.pages))]
    if name.lower().endswith(('.htm', '.html')):
        return html_variants(path)
    return [collapse(open(path, encoding='utf-8').read())]

FOOTER = re.compile(r'^.*\[Page \d+\]\s*$', re.M)

def doc_pages(name):
    """Single pages, for the rule that no gold snippet may cross a page break:
    pypdf pages for PDF; for plain text, form-feed pages, else pages ending at "[Page N]" footers."""
    path = os.path.join(DOCS, name)
    if name.lower().endswith('.pdf'):
        import pypdf
        return [collapse(p.extract_text() or '') for p in pypdf.PdfReader(path).pages]
    if name.lower().endswith('.txt'):
        t = open(path, encoding='utf-8').read()
        if '\f' in t:
            return [collapse(p) for p in t.split('\f')]
        ends = [m.end() for m in FOOTER.finditer(t)]
        if ends:
            starts = [0] + ends
            return [collapse(t[a:b]) for a, b in zip(starts, ends + [len(t)])]
    return None

def main():
    docs = sorted(os.listdir(DOCS))
    assert len(docs) == 4, docs
    if len(sys.argv) > 2 and sys.argv[1] == '--dump':
        print(doc_texts(sys.argv[2])[0])
        return 0
    T = {d: doc_texts(d) for d in docs}
    P = {d: doc_pages(d) for d in docs}
    for d in docs:
        print('%-50s readings=%d pages=%s' % (d, len(T[d]), len(P[d]) if P[d] else '-'))
    bad = 0
    def err(*a):
        nonlocal bad
        bad += 1
        print('FAIL', *a)
    counts = {}
    kinds = {}
    for fn, req in (('qa.jsonl', ('id', 'doc', 'q', 'gold', 'answer', 'kind')),
                    ('conversations.jsonl', ('id', 'doc', 'turns', 'answer', 'gold'))):
        ids = set()
        n = 0
        for ln, line in enumerate(open(os.path.join(HERE, fn), encoding='utf-8'), 1):
            if not line.strip():
                continue
            o = json.loads(line); n += 1
            for k in req:
                if k not in o: err(fn, ln, 'missing field', k)
            if o['id'] in ids: err(fn, o['id'], 'duplicate id')
            ids.add(o['id'])
            d = o['doc']
            if d not in T: err(fn, o['id'], 'unknown doc', d); continue
            counts[(fn, d)] = counts.get((fn, d), 0) + 1
            if fn == 'qa.jsonl':
                kinds[o['kind']] = kinds.get(o['kind'], 0) + 1
            if fn == 'conversations.jsonl' and not (2 <= len(o['turns']) <= 3):
                err(fn, o['id'], 'turns must be 2 or 3')
            golds = [collapse(g) for g in o['gold']]
            if not golds: err(fn, o['id'], 'no gold')
            for g in golds:
                nw = len(g.split())
                if not (8 <= nw <= 25): err(fn, o['id'], 'gold has %d words' % nw, g)
                for v in T[d]:
                    if g not in v: err(fn, o['id'], 'GOLD NOT FOUND', repr(g))
                if P[d] is not None and not any(g in pg for pg in P[d]):
                    err(fn, o['id'], 'GOLD NOT WITHIN ONE PAGE', repr(g))
            if not o['answer']: err(fn, o['id'], 'no answer')
            for a in o['answer']:
                if not any(a in g for g in golds): err(fn, o['id'], 'ANSWER NOT IN GOLD', repr(a))
                if len(a.split()) > 6: err(fn, o['id'], 'answer longer than 6 words', repr(a))
        print(fn, n, 'items')
    for (fn, d), c in sorted(counts.items()):
        print('  %-20s %-50s %d' % (fn, d, c))
    print('qa kinds:', dict(sorted(kinds.items())))
    ukinds = {}
    uids = set()
    for line in open(os.path.join(HERE, 'unanswerable.jsonl'), encoding='utf-8'):
        if not line.strip(): continue
        o = json.loads(line)
        want = {'id', 'q', 'kind'} | ({'doc'} if o.get('kind') == 'near-topic' else set())
        if set(o) != want or o['kind'] not in ('off-topic', 'near-topic'):
            err('unanswerable.jsonl', o)
        elif o['kind'] == 'near-topic' and o['doc'] not in T:
            err('unanswerable.jsonl', o['id'], 'unknown doc', o['doc'])
        if o.get('id') in uids: err('unanswerable.jsonl', o['id'], 'duplicate id')
        uids.add(o.get('id'))
        ukinds[o['kind']] = ukinds.get(o['kind'], 0) + 1
    print('unanswerable.jsonl', ukinds)
    print('check.py:', 'PASS' if bad == 0 else 'FAILED (%d problems)' % bad)
    return 1 if bad else 0

if __name__ == '__main__':
    sys.exit(main())
