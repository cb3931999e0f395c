import type { MailSourceError } from '../mail/imap-source.js';

/** What an administrator should change when the IMAP check fails, by the error's code. */
export function imapFix(error: MailSourceError, oauth: boolean): string {
  const text = `${error.message} ${(error.cause as { message?: string; code?: string } | undefined)?.message ?? ''} ${(error.cause as { code?: string } | undefined)?.code ?? ''}`;
  if (/certificate|self[- ]signed|CERT_|UNABLE_TO_VERIFY/i.test(text)) {
    return "the server's TLS certificate is not trusted: give its CA in IMAP_TLS_CA_FILE (never turn IMAP_TLS_REJECT_UNAUTHORIZED off for NHSmail)";
  }
  switch (error.code) {
    case 'EAUTH':
      return oauth
        ? 'the OAuth token was refused: check IMAP_USER is the shared mailbox address, and ask your NHSmail Local Administrator to confirm the app has IMAP access and FullAccess on that mailbox (docs/nhsmail.md, steps 3 and 4)'
        : 'the user name or password is wrong: check IMAP_USER (the shared mailbox address) and IMAP_PASSWORD in .env';
    case 'ETIMEOUT':
      return 'the server did not answer: check IMAP_HOST and IMAP_PORT (NHSmail: outlook.office365.com and 993), and that a firewall or proxy lets this computer reach it';
    case 'ECONNECTION':
      return 'the server could not be reached: check IMAP_HOST, IMAP_PORT and IMAP_SECURE (NHSmail: outlook.office365.com, 993, true), and that this computer can reach it';
    default:
      return 'see the message above';
  }
}

export function smtpFix(error: unknown, oauth: boolean): string {
  const e = error as { code?: string; message?: string };
  if (/certificate|self[- ]signed|CERT_/i.test(e.message ?? '')) return "the SMTP server's TLS certificate is not trusted by this computer";
  if (e.code === 'EAUTH') {
    return oauth
      ? 'the OAuth token was refused for sending: ask your NHSmail Local Administrator to allow SMTP AUTH for the shared mailbox and give the app SMTP.SendAsApp (docs/nhsmail.md)'
      : 'the SMTP login was refused: check SMTP_USER and SMTP_PASSWORD in .env';
  }
  return 'the SMTP server could not be reached: check SMTP_HOST, SMTP_PORT and SMTP_SECURE (NHSmail: smtp.office365.com, 587, false: it uses STARTTLS)';
}
