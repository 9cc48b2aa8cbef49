using System.Text;
using MailCloud.Core;
using MailCloud.Webmail;
using MimeKit;

namespace MailCloud.UnitTests.Webmail;

/// <summary>What the read view, the conversation grouping and the reply forms derive from a message.</summary>
public sealed class MessageViewTests
{
    private static MimeMessage Parse(string text) => MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(text.Replace("\n", "\r\n", StringComparison.Ordinal))));

    [Fact]
    public void Only_our_own_authentication_results_are_summarised()
    {
        var ours = Parse("""
            Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=remote.example; dkim=pass header.d=remote.example; dmarc=pass header.from=remote.example
            X-Spam-Score: 0.5
            Authentication-Results: mx.example.test; dkim=fail header.d=forged.example
            From: a@remote.example
            Subject: s

            body
            """);
        var auth = MessageRenderer.Summarise(ours, "mx.example.test")!;
        Assert.Equal("remote.example", auth.SignedBy);
        Assert.Equal("pass", auth.Spf);
        Assert.Equal("pass", auth.Dmarc);
        Assert.False(auth.Spam);
        Assert.Equal("0.5", auth.SpamScore);
        // Written by the sender (another authserv-id): says nothing.
        Assert.Null(MessageRenderer.Summarise(ours, "other.example.test"));
    }

    [Fact]
    public void Attachments_are_listed_with_their_names_and_bodies_are_not()
    {
        var m = Parse("""
            From: a@remote.example
            Subject: files
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: text/plain

            hello
            --b
            Content-Type: application/pdf; name="report.pdf"
            Content-Disposition: attachment; filename="report.pdf"
            Content-Transfer-Encoding: base64

            JVBERi0xLjQK
            --b--
            """);
        var rendered = MessageRenderer.Render(Composer.Bytes(m), "mx.example.test");
        var attachment = Assert.Single(rendered.Attachments);
        Assert.Equal("report.pdf", attachment.FileName);
        Assert.Equal(1, attachment.Index);
        Assert.Equal("%PDF-1.4\n", Encoding.ASCII.GetString(MessageRenderer.Content(MessageRenderer.Part(rendered.Mime, 1)!)));
        Assert.StartsWith("hello", rendered.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Conversations_key_on_the_root_of_references()
    {
        static HeaderBlock H(string headers) => HeaderBlock.Parse(Encoding.ASCII.GetBytes(headers.Replace("\n", "\r\n", StringComparison.Ordinal) + "\r\n\r\n"));
        var root = H("Message-ID: <a@x>");
        var reply = H("Message-ID: <b@x>\nIn-Reply-To: <a@x>\nReferences: <a@x>");
        var deeper = H("Message-ID: <c@x>\nIn-Reply-To: <b@x>\nReferences: <a@x> <b@x>");
        var noReferences = H("Message-ID: <d@x>\nIn-Reply-To: <a@x>");
        Assert.All(new[] { reply, deeper, noReferences }, h => Assert.Equal(Threads.Key(root, "s"), Threads.Key(h, "s")));
        Assert.NotEqual(Threads.Key(root, "s"), Threads.Key(H("Message-ID: <other@x>"), "s"));
        Assert.Equal("Budget", Threads.BaseSubject("Re: AW: Fwd[2]: Budget"));
        Assert.True(H("Content-Type: multipart/mixed; boundary=x").HasAttachments);
        Assert.False(H("Content-Type: multipart/alternative; boundary=x").HasAttachments);
    }

    [Fact]
    public void Reply_all_answers_everyone_but_the_user_and_keeps_the_thread()
    {
        var original = Parse("""
            From: Dan <dan@remote.example>
            Reply-To: team@remote.example
            To: alice@example.test, eve@remote.example
            Cc: sales@example.test, Frank <frank@remote.example>, eve@remote.example
            Subject: Re: Plans
            Message-ID: <p2@remote.example>
            References: <p1@remote.example>

            Let us meet.
            """);
        IReadOnlyList<MailAddress> mine = [MailAddress.Parse("alice@example.test"), MailAddress.Parse("sales@example.test")];
        var all = Replies.For(ComposeMode.ReplyAll, original, "INBOX", 7, mine[0], mine, "Alice");
        Assert.Equal("team@remote.example, eve@remote.example", all.To);
        Assert.Equal("Frank <frank@remote.example>", all.Cc);
        Assert.Equal("Re: Plans", all.Subject);
        Assert.Equal("<p2@remote.example>", all.InReplyTo);
        Assert.Equal("<p1@remote.example> <p2@remote.example>", all.References);
        Assert.Equal("alice@example.test", all.From);
        Assert.Contains("> Let us meet.", all.Text, StringComparison.Ordinal);
        Assert.Contains("-- \nAlice", all.Text, StringComparison.Ordinal);
        Assert.Equal(7, all.OriginalUid);

        var single = Replies.For(ComposeMode.Reply, original, "INBOX", 7, mine[0], mine, string.Empty);
        Assert.Equal("team@remote.example", single.To);
        Assert.Equal(string.Empty, single.Cc);

        var forward = Replies.For(ComposeMode.ForwardAttached, original, "INBOX", 7, mine[0], mine, string.Empty);
        Assert.Equal("Fwd: Re: Plans", forward.Subject);
        Assert.Equal(7, forward.AttachUid);
        Assert.True(forward.IsForward);
    }
}
