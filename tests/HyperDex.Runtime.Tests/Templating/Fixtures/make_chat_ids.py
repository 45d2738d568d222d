"""Regenerates chat-ids.json: conversations rendered with the chat template of each ../shared/tokenizers folder that
has one (by Jinja2, configured as transformers configures it), and the ids HuggingFace's tokenizers library gives
the rendered text without added special tokens (apply_chat_template(tokenize=True)).

Needs the tokoracle of ../shared/tools with its npm packages installed:
    python3 make_chat_ids.py <shared folder> <tokoracle folder with node_modules>
"""
import json
import os
import subprocess
import sys
import tempfile

from make_jinja_cases import env

CONVERSATIONS = [
    {"messages": [{"role": "user", "content": "Hello! Who are you?"}], "add_generation_prompt": True},
    {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there."},
                  {"role": "user", "content": "Ünïcödé — 日本語 🙂 \"quotes\"\n\tnew line"}], "add_generation_prompt": True},
    {"messages": [{"role": "user", "content": "What is 2+2?"},
                  {"role": "assistant", "content": "4"}], "add_generation_prompt": False},
]


def main():
    shared, oracle = sys.argv[1], sys.argv[2]
    out = {}
    for name in sorted(os.listdir(os.path.join(shared, "tokenizers"))):
        folder = os.path.join(shared, "tokenizers", name)
        config_path = os.path.join(folder, "tokenizer_config.json")
        if not os.path.isfile(config_path):
            continue
        config = json.load(open(config_path, encoding="utf-8"))
        template = config.get("chat_template")
        if not isinstance(template, str):
            continue
        specials = {k: (v if isinstance(v, str) else v.get("content")) for k, v in config.items()
                    if k in ("bos_token", "eos_token", "unk_token", "pad_token") and v is not None}
        entries = []
        for conversation in CONVERSATIONS:
            text = env.from_string(template).render(messages=conversation["messages"], tools=None, documents=None,
                                                    add_generation_prompt=conversation["add_generation_prompt"], **specials)
            entries.append({**conversation, "text": text})
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
            json.dump([e["text"] for e in entries], f, ensure_ascii=False)
        result = subprocess.run(["node", os.path.join(oracle, "encode.mjs"), folder, f.name, "--engine", "native"],
                                check=True, capture_output=True, text=True)
        os.unlink(f.name)
        samples = json.loads(result.stdout)["samples"]
        for entry, sample in zip(entries, samples):
            assert sample["text"] == entry["text"]
            entry["ids"] = sample["ids_raw"]
        out[name] = entries
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "chat-ids.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
