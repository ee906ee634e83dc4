"""E-mail alerts over SMTP (STARTTLS, implicit TLS or plain; optional login)."""

from __future__ import annotations

import mimetypes
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from monitor.channels.render import render_html, render_text, subject
from monitor.outbox import Message, TransportError
from monitor.settings import SmtpSettings


def build_email(message: Message, settings: SmtpSettings) -> EmailMessage:
    """The multipart (text + HTML) mail for ``message``.

    Its Message-ID is derived from the outbox row, so a message sent twice
    (a crash between the server's acceptance and our commit) is recognisably
    the same message.
    """
    mail = EmailMessage()
    mail["Subject"] = subject(message.payload)
    mail["From"] = settings.sender
    mail["To"] = ", ".join(settings.recipients)
    mail["Date"] = formatdate(localtime=False)
    domain = settings.sender.rpartition("@")[2] or "postwarden.invalid"
    mail["Message-ID"] = make_msgid(idstring=f"postwarden.outbox.{message.id}", domain=domain)
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Postwarden-Event"] = message.event
    mail.set_content(render_text(message.payload))
    mail.add_alternative(render_html(message.payload), subtype="html")
    for attachment in message.payload.get("attachments", ()):
        _attach(mail, Path(attachment))
    return mail


def _attach(mail: EmailMessage, path: Path) -> None:
    """Attach a report file; one that is gone is a permanent failure (it will not come back)."""
    try:
        content = path.read_bytes()
    except OSError as error:
        raise TransportError(f"cannot attach {path}: {error.strerror}", permanent=True) from None
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    maintype, subtype = kind.split("/", 1)
    mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=path.name)


class EmailTransport:
    """Sends notifications to the configured recipients."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def notify(self, message: Message) -> None:
        settings = self.settings
        assert settings.host is not None
        mail = build_email(message, settings)
        context = ssl.create_default_context(cafile=settings.ca_file)
        try:
            if settings.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.host, settings.port or 465, timeout=settings.timeout, context=context
                )
            else:
                client = smtplib.SMTP(settings.host, settings.port or 587, timeout=settings.timeout)
            with client:
                if settings.security == "starttls":
                    client.starttls(context=context)
                if settings.username:
                    client.login(settings.username, settings.password or "")
                refused = client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            permanent = all(code >= 500 for code in codes)
            raise TransportError(
                f"every recipient refused: {error.recipients}", permanent=permanent
            ) from None
        except smtplib.SMTPResponseException as error:
            # 5xx is the server's final word on this message; 4xx and
            # authentication trouble may pass (or be fixed in the config).
            permanent = error.smtp_code >= 500 and error.smtp_code not in (530, 534, 535, 538)
            raw = error.smtp_error
            reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            raise TransportError(f"SMTP {error.smtp_code}: {reason}", permanent=permanent) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            raise TransportError(f"{settings.host}: {error}") from None
        if refused:
            # Some recipients took it: retrying would send them a duplicate.
            raise TransportError(f"refused by {sorted(refused)}", permanent=True)
