"""Size limits every door shares (REST webhook, socket.io channel, web app proxy, nginx).

A resident's message is a question or a short story of their household: 1,000 characters is far above
any real message and far below what would cost the NLU (and the tracker store) real time.
"""

from __future__ import annotations

MAX_MESSAGE_CHARS = 1000
TOO_LONG_ZH = f"您的消息太长了，请分几次发送（每条不超过{MAX_MESSAGE_CHARS}字）。"
# A request body: a message of MAX_MESSAGE_CHARS Chinese characters is ~3 KB of JSON (or ~6 KB escaped).
MAX_BODY_BYTES = 64 * 1024
