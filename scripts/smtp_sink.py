"""make up's SMTP server: accepts every message on 127.0.0.1, keeps each as an .eml file and
prints one line per message (to, subject, the text's first line), so a newcomer sees the e-mails
the demo requests send. Not for production: no TLS, no auth, no relaying."""

import asyncio
import email
import email.policy
import pathlib
import sys

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.n = len(list(self.folder.glob("*.eml")))

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = self.folder / f"{self.n:05d}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content().strip().splitlines()[0] if body else ""
        print(
            f"mail {self.n}: to {', '.join(envelope.rcpt_tos)} | {msg['subject']} | {text} ({path})",
            flush=True,
        )
        return "250 OK kept"


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    folder = pathlib.Path(sys.argv[3])
    controller = Controller(Keep(folder), hostname=host, port=port)
    controller.start()
    print(f"smtp sink on {host}:{port}, keeping mail in {folder}", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
