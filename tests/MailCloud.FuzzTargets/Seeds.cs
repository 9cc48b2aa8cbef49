using System.Text;

namespace MailCloud.FuzzTargets;

/// <summary>Starting inputs per target: small, valid, and covering the grammar's main branches.</summary>
internal static class Seeds
{
    private static byte[] A(string text) => Encoding.UTF8.GetBytes(text);

    public static readonly byte[][] SmtpCommands =
    [
        A("EHLO client.example\r\nMAIL FROM:<a@example.com> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.org\r\nDATA\r\n"),
        A("HELO x\r\nMAIL FROM:<> RET=HDRS ENVID=QQ314159\r\nRCPT TO:<@relay.example:user@example.com>\r\nBDAT 100 LAST\r\nQUIT\r\n"),
        A("AUTH PLAIN AGFsaWNlAHBhc3M=\r\nSTARTTLS\r\nVRFY postmaster\r\nMAIL FROM:<\"quoted@local\"@example.com> SMTPUTF8\r\nRCPT TO:<用户@例子.测试>\r\nNOOP\r\nRSET\r\n"),
    ];

    public static readonly byte[][] SmtpData =
    [
        A("\u0003Subject: hi\r\n\r\nline one\r\n..stuffed\r\n.\r\nQUIT\r\n"),
        A("\u0001a\n.\nb\r\n.x\r\n\r\n.\r\n"),
        A("\u0005.\r\n"),
    ];

    public static readonly byte[][] Imap =
    [
        A("a1 LOGIN user \"pass word\"\r\na2 SELECT INBOX (CONDSTORE)\r\na3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)] BODYSTRUCTURE) (CHANGEDSINCE 5)\r\n"),
        A("b1 APPEND Drafts (\\Seen) \"01-Jan-2024 10:00:00 +0000\" {11}\r\nhello world\r\nb2 SEARCH CHARSET UTF-8 OR FROM \"x\" SUBJECT {3+}\r\nabc SINCE 1-Feb-2024\r\n"),
        A("c1 STORE 1,3:5 +FLAGS.SILENT (\\Deleted $Junk)\r\nc2 CREATE \"&ZeVnLIqe-\"\r\nc3 IDLE\r\nDONE\r\nc4 AUTHENTICATE PLAIN AGEAYg==\r\n"),
    ];

    public static readonly byte[][] Pop3 =
    [
        A("CAPA\r\nUSER a@example.com\r\nPASS secret\r\nSTAT\r\nLIST 1\r\nRETR 1\r\nTOP 1 10\r\nUIDL\r\nDELE 1\r\nQUIT\r\n"),
        A("AUTH SCRAM-SHA-256\r\nSTLS\r\nAPOP a b\r\nNOOP\r\nRSET\r\n"),
    ];

    public static readonly byte[][] Scram =
    [
        A("n,,n=user@example.com,r=rOprNGfwEbeRWgbNEkqO\0c=biws,r=rOprNGfwEbeRWgbNEkqO3rfcNHYJY1ZVvWVs7j,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
        A("y,a=user@example.com,n=user=2Cx=3D@example.com,r=abc,e=x\0c=eSws,r=abc3rfcNHYJY1ZVvWVs7j,p=AAAA"),
    ];

    public static readonly byte[][] Mime =
    [
        A("From: \"A B\" <a@example.com>\r\nTo: b@example.org, \"=?utf-8?q?J=C3=B6rg?=\" <j@example.org>\r\nSubject: =?utf-8?b?SGVsbG8=?=\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100\r\nMessage-ID: <1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 =\r\nau lait\r\n--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b2--\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n--b1\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Disposition: attachment; filename*=UTF-8''%E2%82%AC.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQ=\r\n--b1--\r\nepilogue\r\n"),
        A("Subject: plain\nFrom: x@y\n\nbare LF body\n"),
    ];

    public static readonly byte[][] Headers =
    [
        A("\"Doe, John\" <john@example.com>, undisclosed-recipients:;, =?iso-8859-1?q?Andr=E9?= <andre@example.org> (comment)"),
        A("Tue, 01 Dec 2026 10:00:00 -0500 (EST)"),
        A("user+tag@xn--bcher-kva.example"),
    ];

    public static readonly byte[][] Spf =
    [
        A("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx/24//64 include:_spf.example.net -all"),
        A("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} ~all redirect=_spf.%{o} exp=explain.%{d2}"),
        A("v=spf1 a:mail.example.com/28 ?ptr +all"),
    ];

    public static readonly byte[][] Dmarc =
    [
        A("v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=50; rua=mailto:d@example.com"),
        A("v=DMARC1; p=none"),
    ];

    /// <summary>A 1024-bit RSA key record (RFC 8301's minimum), used when an input brings no key record of its own.</summary>
    public const string DkimKeyRecord = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB";

    public static readonly byte[][] Dkim =
    [
        A("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.net; s=brisbane; h=from:to:subject:date; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHutKVdkLLkpVaVVQPzeRDI009SO2Il5Lu7rDNH6mZckBdrIx0orEtZV4bmp/YzhwvcubU4=\r\nFrom: Joe <joe@example.net>\r\nTo: x@example.com\r\nSubject: hi\r\nDate: Fri, 11 Jul 2003 21:00:37 -0700\r\n\r\nHi.\r\n"),
        A("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=k; l=3; x=1; h=from; bh=AA==; b=AA==\r\nFrom: a@example.com\r\n\r\nbody\r\n\0v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
    ];
}
