"""Regenerates template-scenarios.json: the real templates of ../shared/chat-templates rendered by Jinja2 (configured as
transformers configures it) for conversations beyond scenarios.json: tools, tool calls and results, content given as
parts, reasoning content, enable_thinking, no generation prompt.

    python3 make_template_scenarios.py <path of ../shared/chat-templates>
"""
import json
import os
import sys

from make_jinja_cases import env
folder = sys.argv[1]  # ../shared/chat-templates
tools = [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather ü", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City"}, "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}]
scen = {
 "tools": {"messages": [{"role": "system", "content": "Sys."}, {"role": "user", "content": "Weather in Paris?"}], "tools": tools},
 "toolcall": {"messages": [{"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}, {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "{\"temp\": 20}"}, {"role": "assistant", "content": "It is 20."}, {"role": "user", "content": "Thanks"}], "tools": tools},
 "parts": {"messages": [{"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "text", "text": "this"}]}]},
 "reasoning": {"messages": [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nA1", "reasoning_content": "hmm"}, {"role": "user", "content": "Q2"}], "enable_thinking": False},
 "thinking": {"messages": [{"role": "user", "content": "Q"}], "enable_thinking": True},
 "noprompt": {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}, {"role": "assistant", "content": "A"}], "agp": False},
}
out = []
for f in sorted(os.listdir(folder)):
    if not f.endswith('.jinja'): continue
    src = open(os.path.join(folder, f), encoding='utf-8').read()
    for name, s in scen.items():
        kw = {"bos_token": "<BOS>", "eos_token": "<EOS>", "tools": s.get("tools"), "documents": None}
        for k in ("enable_thinking",):
            if k in s: kw[k] = s[k]
        try:
            text = env.from_string(src).render(messages=s["messages"], add_generation_prompt=s.get("agp", True), **kw)
            out.append({"file": f, "scenario": name, "messages": s["messages"], "vars": {k: v for k, v in kw.items() if v is not None}, "agp": s.get("agp", True), "text": text})
        except Exception as e:
            out.append({"file": f, "scenario": name, "messages": s["messages"], "vars": {k: v for k, v in kw.items() if v is not None}, "agp": s.get("agp", True), "error": f"{type(e).__name__}: {e}"})
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'template-scenarios.json'), 'w', encoding='utf-8') as f:
    json.dump(out, f, ensure_ascii=False, indent=0)
