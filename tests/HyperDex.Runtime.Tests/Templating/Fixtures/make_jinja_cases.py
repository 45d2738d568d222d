"""Regenerates jinja-cases.json: each template snippet rendered by Jinja2 configured as transformers configures it.

Run with Python 3 and jinja2 3.x:  python3 make_jinja_cases.py  (writes jinja-cases.json beside this file).
"""
import json
import os
from datetime import datetime

import jinja2
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2 import nodes


class AssistantTracker(Extension):
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime(2026, 1, 15, 10, 30, 0).strftime(format)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now

VARS = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi there  "},
        {"role": "assistant", "content": "Hello!", "tool_calls": [{"function": {"name": "f", "arguments": {"b": 1, "a": [1.5, "x", None, True]}}}]},
        {"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "image"}]},
    ],
    "names": ["Bob", "alice", "Carol", "bob"],
    "nums": [3, 1, 2],
    "d": {"b": 2, "a": 1, "items": "key named items"},
    "text": "  Hello, World! ünï 🙂\n second line \n",
    "empty": "",
    "none": None,
    "f": 2.5,
    "big": 1e20,
    "small": 0.0001,
}

CASES = [
    # whitespace control, trim_blocks, lstrip_blocks
    "a\n  {% if true %}\n    x\n  {% endif %}\nb",
    "a  {%- if true -%}  x  {%- endif -%}  b",
    "a\n  {%+ if true %}x{% endif +%}\nb",
    "{# comment #}\n  {# indented comment #}\nx",
    "  {{ 'var' }}\n  {% set y = 1 %}\n{{ y }}",
    "{% raw %}{{ not rendered }}{% endraw %}\n",
    "line\r\nnext\r\n",
    "{{ 'a' }}\n\n",
    "x {{- ' y ' -}} z",
    # loops
    "{% for m in messages %}{{ loop.index }}/{{ loop.length }}:{{ m.role }}{% if not loop.last %}, {% endif %}{% endfor %}",
    "{% for m in messages if m.role == 'user' %}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.revindex }}{% endfor %}",
    "{% for n in nums %}{% if n == 1 %}{% continue %}{% endif %}{% if n == 2 %}{% break %}{% endif %}{{ n }}{% endfor %}",
    "{% for x in [] %}x{% else %}empty{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for k in d %}{{ k }}{% endfor %}|{% for c in 'ab🙂' %}[{{ c }}]{% endfor %}",
    "{% for n in nums %}{{ loop.previtem is defined }}{{ loop.nextitem | default('-') }}{{ loop.cycle('o', 'e') }}{% endfor %}",
    "{% set x = 1 %}{% for n in nums %}{% set x = x + n %}{{ x }}{% endfor %}{{ x }}",
    "{% set ns = namespace(total=0, seen=[]) %}{% for n in nums %}{% set ns.total = ns.total + n %}{% endfor %}{{ ns.total }}",
    "{% for a in [[1, 2], [3]] %}{% for b in a %}{{ loop.depth }}{{ b }}{% endfor %}{% endfor %}",
    "{% for item in [{'n': 'a', 'c': [{'n': 'b', 'c': []}]}] recursive %}{{ item.n }}({{ loop(item.c) }}){% endfor %}",
    # set, if scoping
    "{% if true %}{% set inner = 'set in if' %}{% endif %}{{ inner }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = (1,) %}{{ t }}",
    "{% set block %}  captured {{ 1 + 1 }}  {% endset %}[{{ block }}]",
    "{% set block | trim | upper %}  captured  {% endset %}[{{ block }}]",
    "{% with a = 5 %}{{ a }}{% endwith %}{{ a is defined }}",
    # macros
    "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', '?', 3, extra=1) }}",
    "{% macro outer() %}[{{ caller('x') }}]{% endmacro %}{% call(v) outer() %}called {{ v }}{% endcall %}",
    "{% macro rec(n) %}{{ n }}{% if n > 0 %}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(3) }}",
    "{% set later = 'before' %}{% macro show() %}{{ later }}{% endmacro %}{% set later = 'after' %}{{ show() }}",
    # expressions
    "{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 4 / 2 }}",
    "{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ 'x' in 'xyz' }} {{ 3 not in nums }}",
    "{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ none is none }}",
    "{{ 'yes' if empty else 'no' }} {{ 'shown' if true }}[{{ 'hidden' if false }}]",
    "{{ none or 'default' }} {{ 0 and 'x' }} {{ not empty }}",
    "{{ f }} {{ big }} {{ small }} {{ 1.0 }} {{ 3.14159 }} {{ 1/3 }} {{ 0.1 + 0.2 }} {{ 1e-7 }} {{ 123456789012345678.0 }}",
    "{{ nums }} {{ d }} {{ ('a', 1) }} {{ names[1:3] }} {{ text[::-1] }} {{ nums[-1] }} {{ messages[10] is defined }}",
    "{{ \"it's\" }} {{ ['it\\'s', 'say \"hi\"', 'both \\' \"', 'tab\\t', 'ünï'] }}",
    "{{ d.items is callable }}|{{ d['items'] }}|{{ d.get('zz', 'fallback') }}|{{ d.keys() | list }}",
    "{{ messages[0]['role'] }} {{ messages[0].role }} {{ messages.0.role }} {{ none.attr is defined }}",
    # string methods
    "{{ text.strip() }}|{{ text.lstrip() }}|{{ text.rstrip() }}|{{ 'xxhixx'.strip('x') }}",
    "{{ text.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a b c'.rsplit(' ', 1) }}",
    "{{ 'Hello'.startswith('He') }} {{ 'Hello'.endswith(('x', 'lo')) }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }}",
    "{{ 'a-b-c'.replace('-', '+') }} {{ 'a-b-c'.replace('-', '+', 1) }} {{ 'abc'.upper() }} {{ 'ABC'.lower() }} {{ 'abcabc'.find('c') }}",
    "{{ '{} and {}'.format('x', 1) }} {{ '{name}!'.format(name='N') }} {{ '%s-%d' % ('a', 3) }} {{ '%05.2f' % 3.14159 }}",
    "{{ 'line1\\nline2\\r\\nline3'.splitlines() }} {{ ', '.join(['a', 'b']) }} {{ 'ab'.center(6, '*') }}",
    # filters
    "{{ names | join(', ') }} {{ names | length }} {{ names | first }} {{ names | last }} {{ names | sort | list }}",
    "{{ names | sort(case_sensitive=true) }} {{ names | unique | list }} {{ names | map('upper') | list }} {{ nums | sum }} {{ nums | max }} {{ nums | min }}",
    "{{ messages | selectattr('role', 'equalto', 'user') | list | length }} {{ messages | rejectattr('role', 'in', ['user']) | map(attribute='role') | join }}",
    "{{ messages | map(attribute='missing', default='dflt') | list }} {{ nums | select('odd') | list }} {{ nums | reject('even') | list }}",
    "{{ text | trim }}|{{ text | upper }}|{{ 'hello world-wide' | title }}|{{ 'hello' | capitalize }}|{{ text | replace('l', 'L') }}",
    "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, first=true) }}|{{ 'a\\n\\nb' | indent('> ', blank=true) }}",
    "{{ none | default('d') }} {{ undefined_name | default('u') }} {{ '' | default('e', true) }} {{ empty | d('x') }}",
    "{{ '42' | int }} {{ 'x' | int(7) }} {{ '3.9' | int }} {{ 3.9 | int }} {{ '2.5' | float }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 7 | round }}",
    "{{ d | dictsort }} {{ {'x': 2, 'y': 1, 'z': 3} | dictsort(by='value', reverse=true) | first }} {{ d | items | list }}",
    "{{ nums | list }} {{ 'abc' | list }} {{ nums | reverse | list }} {{ 'abc' | reverse }} {{ 42 | string }} {{ none | string }}",
    "{{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ [1, 2, 3, 4, 5] | slice(2) | list }} {{ nums | sort(reverse=true) }}",
    "{{ '<b>&</b>' | escape }} {{ '<p>x</p>  y' | striptags }} {{ 'hello world foo' | wordcount }} {{ -3 | abs }}",
    "{{ 'a' + ('<b>' | safe) }} {{ ('<b>' | safe) + '<i>' }} {{ 'x' ~ ('<b>' | safe) }}",
    "{{ names | groupby('0') | list | length }} {{ 'The quick brown fox' | truncate(12) }} {{ nums | join('-', attribute=none) }}",
    # tojson
    "{{ messages[2] | tojson }}",
    "{{ messages[2] | tojson(indent=2) }}",
    "{{ d | tojson(sort_keys=true, separators=(',', ':')) }} {{ 'ünï \"q\" \\n <tag> 🙂' | tojson }} {{ 'ü' | tojson(ensure_ascii=true) }}",
    "{{ [1.0, 1e20, 0.1, -0.0, none, true] | tojson }} {{ {} | tojson(indent=4) }} {{ [[]] | tojson(indent=1) }}",
    # tests
    "{{ empty is string }} {{ nums is sequence }} {{ d is mapping }} {{ d is iterable }} {{ 1 is number }} {{ true is number }} {{ true is boolean }}",
    "{{ 1 is integer }} {{ 1.0 is float }} {{ none is none }} {{ x is undefined }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 'a' is in 'abc' }}",
    "{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 1 is eq 1 }} {{ 2 is gt 1 }} {{ 'x' is ne 'y' }} {{ none is sameas none }} {{ messages is not string }}",
    "{{ messages | selectattr('tool_calls', 'defined') | list | length }} {{ (messages | map(attribute='role') | select('equalto', 'user') | list) | count }}",
    # globals
    "{{ range(3) | list }} {{ range(1, 10, 3) | list }} {% for i in range(2) %}{{ i }}{% endfor %} {{ dict(a=1, b=2) }} {{ namespace(a=1).a }}",
    "{{ strftime_now('%Y-%m-%d %H:%M %b %B %a %A %-d %j %I%p') }}",
    "{% set j = joiner('|') %}{% for n in nums %}{{ j() }}{{ n }}{% endfor %}",
    "{% generation %}gen {{ 1 }}{% endgeneration %} after",
    "{% filter upper %}shout {{ 'this' }}{% endfilter %}",
    "{{ messages[3].content[0].text }} {{ messages[3].content is string }} {% for part in messages[3].content %}{{ part.type }}{% endfor %}",
    "{{ nums | map('string') | join(',') }} {{ messages | map(attribute='role') | unique | list }} {{ nums | first is defined }}",
    "{{ (messages | selectattr('role', 'equalto', 'system') | list)[0].content }} {{ messages | selectattr('role', 'equalto', 'nobody') | first is defined }}",
    "{{ 'x' if messages | selectattr('role', 'equalto', 'nobody') else 'y' }} {{ messages | selectattr('role', 'equalto', 'nobody') | list | length > 0 }}",
    "{%- for m in messages -%}\n  {%- if m.role == 'user' -%}\n    <u>{{ m.content if m.content is string else m.content[0].text }}</u>\n  {%- endif -%}\n{%- endfor -%}\n",
    "{{ messages[-1]['content'][0]['text'] | trim }}{{ messages[:2] | length }}{{ (messages|last).role }}",
    # more Python semantics
    "{{ '\\u00e9\\x41\\n' }}|{{ '%.2f' | format(3.14159) }}|{{ [1, 2, 3][1:] }}|{{ 'abc'[-2:] }}|{{ none ~ '' }}|{{ true + 1 }}",
    "{{ 10 / 4 }} {{ 2 ** -1 }} {{ 7 // 2.0 }} {{ -0.0 }} {{ 1e300 * 1e10 }} {{ 'x' * 0 }}|{{ 3 - 5 }} {{ 2.5 * 2 }} {{ -7 % 2.5 }}",
    "{{ [1, [2, 3], {'k': 'v'}] | tojson(separators=(',', ':')) }} {{ {'b': {'z': 1, 'a': [1, 2]}} | tojson(indent=2, sort_keys=true) }}",
    "{% set x = namespace() %}{% set x.a = 1 %}{{ x.a }}{% macro m(a, b) %}[{{ a }}|{{ b }}]{% endmacro %}{{ m() }}{{ m(b=2, a=1) }}",
    "{{ messages | map(attribute='content') | join(' / ') }}",
    "{{ d.zz }}|{{ d.zz is defined }}|{{ messages[0].zz | default('dz') }}|{{ (messages | first).role | upper }}",
    "{% for m in messages %}{% set role = m.role %}{% if loop.first %}{% set first_role = role %}{% endif %}{% endfor %}[{{ role }}][{{ first_role }}]",
    "{% set ns = namespace(found=false) %}{% for m in messages %}{% if m.role == 'assistant' and not ns.found %}{% set ns.found = true %}{{ loop.index }}{% endif %}{% endfor %}{{ ns.found }}",
    "{{ '{0}-{1}-{0}'.format('a', 'b') }} {{ '{:>5}|{:<4}|{:^6}'.format('r', 'l', 'c') }} {{ '{x!r}'.format(x='q') }}",
    "{{ 'Hello World'.split(' ')[1] | lower }} {{ '  x  '.strip() ~ '|' }} {{ 'a\\tb'.split() }} {{ 'k=v=w'.partition('=') }}",
    "{{ 1 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ (1, 2) == (1, 2) }} {{ [1, 2] == [1, 2] }} {{ {'a': 1} == {'a': 1} }} {{ 1 != 1.0 }}",
    "{{ 5 if 0 else 6 if none else 7 }} {{ (1 if true else 2) + 3 }} {{ not 1 == 2 }} {{ -2 ** 2 }} {{ (-2) ** 2 }} {{ 2 * 3 ~ 4 }}",
    "{{ text | length }} {{ 'ünï🙂' | length }} {{ 'ünï🙂'[3] }} {{ 'ünï🙂' | list }} {{ 'ünï🙂' | reverse }} {{ 'ÜNÏ' | lower }}",
    "{%- if true %}\n  a\n{%- endif %}\n  {%- if true %} b {% endif -%}\n c",
    "x\n{% for i in range(2) %}\n  {{ i }}\n{% endfor %}\ny",
    "{% for i in range(3) %}{{ i }}{% if not loop.last %},{% endif %}{% endfor %}\n{%- for i in range(2) -%}\n  [{{ i }}]\n{%- endfor %}",
    "{% macro tool(t) -%}\n  name: {{ t.name }}\n  {%- if t.args %} args: {{ t.args | tojson }}{% endif %}\n{%- endmacro %}\n{{ tool({'name': 'f', 'args': {'a': 1}}) }}|{{ tool({'name': 'g'}) }}",
    "{{ messages[2].tool_calls[0].function.arguments | tojson }} {{ messages[2].tool_calls | length }} {{ messages[2].tool_calls[0].function.arguments.a[0] }}",
    "{{ [3, 1, 2] | sort | first }} {{ [{'n': 2}, {'n': 1}] | sort(attribute='n') | map(attribute='n') | list }} {{ ['b', 'A', 'c'] | max }}",
    "{{ [1, 2, 2, 3] | unique | list }} {{ ['a', 'A', 'b'] | unique | list }} {{ ['a', 'A'] | unique(case_sensitive=true) | list }}",
    "{{ messages | selectattr('role', 'ne', 'user') | map(attribute='role') | join(',') }} {{ nums | select('gt', 1) | list }} {{ nums | map('int') | sum }}",
    "{{ 'abc' is string and 'abc' is not mapping }} {{ [] is iterable }} {{ none is iterable }} {{ 3.0 is integer }} {{ 'A' is upper }}",
]

ERRORS = [
    "{{ raise_exception('custom failure') }}",
    "{% for x in none %}{% endfor %}",
    "{{ undefined_name.attr }}",
    "{{ 1 + 'a' }}",
    "{{ 'a' + 1 }}",
    "{{ messages.append(1) }}",
    "{{ d.update({'x': 1}) }}",
    "{{ range(1000000) | list | length }}",
    "{{ 1 / 0 }}",
    "{% if %}",
    "{% for x in nums %}",
    "{{ x | nosuchfilter }}",
    "{{ x is nosuchtest }}",
    "{{ none | length }}",
    "{{ ''.__class__ }}{{ ''.__class__.__mro__ }}",
    "{% set x.y = 1 %}",
    "{{ d | items | length }}",
    "{{ nums['a'] + 1 }}",
    "{{ messages | map(attribute='role') | length }}",
    "{{ undefined_name + 1 }}",
    "{{ d.zz.yy }}",
    "{{ [1, 2] < 'a' }}",
    "{% macro m() %}{% endmacro %}{{ m(1) }}",
    "{{ messages[0] | int + none }}",
    "{% for a, b in nums %}{% endfor %}",
]

def main():
    out = {"cases": [], "errors": []}
    for src in CASES:
        out["cases"].append({"template": src, "text": env.from_string(src).render(**VARS)})
    for src in ERRORS:
        try:
            text = env.from_string(src).render(**VARS)
            out["errors"].append({"template": src, "text": text})
        except Exception as e:
            out["errors"].append({"template": src, "error": f"{type(e).__name__}: {e}"})

    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "jinja-cases.json"), "w", encoding="utf-8") as f:
        json.dump({"variables": VARS, **out}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
