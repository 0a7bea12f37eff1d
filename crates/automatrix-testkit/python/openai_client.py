"""Drives the AutoMatrix AI proxy with the official OpenAI Python client.

Run by crates/automatrix-testkit/tests/api/ai_proxy.rs with AUTOMATRIX_BASE (the server),
AUTOMATRIX_TOKEN (an access token or API key) and AUTOMATRIX_MODEL (a route alias). Prints one
JSON object with what the client saw; the Rust test asserts on it.
"""

import json
import os

import openai

client = openai.OpenAI(
    base_url=os.environ["AUTOMATRIX_BASE"] + "/api/ai/v1",
    api_key=os.environ["AUTOMATRIX_TOKEN"],
    max_retries=0,
)
model = os.environ["AUTOMATRIX_MODEL"]
messages = [
    {"role": "system", "content": "You are the BDC assistant."},
    {"role": "user", "content": "Is the 2021 Civic still available?"},
]

plain = client.chat.completions.create(model=model, messages=messages, temperature=0.2)

chunks = client.chat.completions.create(
    model=model,
    messages=messages,
    stream=True,
    stream_options={"include_usage": True},
)
streamed, finish, stream_usage, stream_model = [], None, None, None
for chunk in chunks:
    stream_model = chunk.model
    if chunk.usage is not None:
        stream_usage = chunk.usage.model_dump()
    for choice in chunk.choices:
        if choice.delta.content:
            streamed.append(choice.delta.content)
        if choice.finish_reason:
            finish = choice.finish_reason

try:
    client.chat.completions.create(model="no-such-route", messages=messages)
    missing = None
except openai.NotFoundError as e:
    missing = {"status": e.status_code, "message": str(e)}

print(
    json.dumps(
        {
            "text": plain.choices[0].message.content,
            "finish_reason": plain.choices[0].finish_reason,
            "model": plain.model,
            "usage": plain.usage.model_dump(),
            "streamed": "".join(streamed),
            "stream_finish_reason": finish,
            "stream_usage": stream_usage,
            "stream_model": stream_model,
            "missing": missing,
        }
    )
)
