#!/usr/bin/env python3
"""Verify setJ gold snippets and answers against the documents' extracted text.

PDF: pypdf extract_text per page, pages joined by newline.
HTML: decoded with the charset the file declares, <script>/<style> dropped, tags stripped
      (checked twice: tags replaced by a space, and tags removed outright), entities unescaped.
DOCX: checked twice: (1) paragraph texts from python-docx (document body paragraphs, in order;
      skipped with a note if python-docx is not installed) and (2) word/document.xml read directly,
      the <w:t> runs of each <w:p> joined, paragraphs joined by newline.
Markdown / text: read as UTF-8, as is (universal newlines, so CRLF files read the same).
All texts then have whitespace collapsed to single spaces. Matching is exact (case-sensitive).
For PDF (pypdf pages) and form-feed paged plain text, each gold snippet must also lie within one page.
Unanswerable items: off-topic ones have id/q/kind; near-topic ones also name their doc.
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

W = '{http://schemas.openxmlformats.org/wordprocessingml/2006/main}'

def docx_variants(path):
    import zipfile
    import xml.etree.ElementTree as ET
    out = []
    try:
        import docx
    except ImportError:
        print('note: python-docx not installed; DOCX checked via word/document.xml only')
    else:
        d = docx.Document(path)
        out.append(collapse('\n'.join(p.text for p in d.paragraphs)))
    root = ET.fromstring(zipfile.ZipFile(path).read('word/document.xml'))
    paras = [''.join(t.text or '' for t in p.iter(W + 't')) for p in root.iter(W + 'p')]
    out.append(collapse('\n'.join(paras)))
    return out

def doc_texts(name):
    path = os.path.join(DOCS, name)
    if name.lower().endswith('.pdf'):
        import pypdf
        r = pypdf.PdfReader(path)
        return [collapse('\n'.join(p.extract_text() or '' for p in r.pages))]
    if name.lower().endswith(('.htm', '.html')):
        return html_variants(path)
    if name.lower().endswith('.docx'):
        return docx_variants(path)
    return [collapse(open(path, encoding='utf-8').read())]

def doc_pages(name):
    """Single pages, for the rule that no gold snippet may cross a page break:
    pypdf pages for PDF, form-feed separated pages for plain text; None otherwise."""
    path = os.path.join(DOCS, name)
    if name.lower().endswith('.pdf'):
        import pypdf
        return [collapse(p.extract_text() or '') for p in pypdf.PdfReader(path).pages]
    if name.lower().endswith('.txt'):
        t = open(path, encoding='utf-8').read()
        if '\f' in t:
            return [collapse(p) for p in t.split('\f')]
    return None

def main():
    docs = sorted(os.listdir(DOCS))
    assert len(docs) == 4, docs
    T = {d: doc_texts(d) for d in docs}
    P = {d: doc_pages(d) for d in docs}
    bad = 0
    def err(*a):
        nonlocal bad
        bad += 1
        print('FAIL', *a)
    counts = {}
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
        print(fn, n, 'items')
    for (fn, d), c in sorted(counts.items()):
        print('  %-20s %-55s %d' % (fn, d, c))
    kinds = {}
    for line in open(os.path.join(HERE, 'unanswerable.jsonl'), encoding='utf-8'):
        if not line.strip(): continue
        o = json.loads(line)
        want = {'id', 'q', 'kind'} | ({'doc'} if o.get('kind') == 'near-topic' else set())
        if set(o) != want or o['kind'] not in ('off-topic', 'near-topic'):
            err('unanswerable.jsonl', o)
        elif o['kind'] == 'near-topic' and o['doc'] not in T:
            err('unanswerable.jsonl', o['id'], 'unknown doc', o['doc'])
        kinds[o['kind']] = kinds.get(o['kind'], 0) + 1
    print('unanswerable.jsonl', kinds)
    print('check.py:', 'PASS' if bad == 0 else 'FAILED (%d problems)' % bad)
    return 1 if bad else 0

if __name__ == '__main__':
    sys.exit(main())
