using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Dns;
using MailCloud.FunctionalTests.Cli;
using MailCloud.FunctionalTests.Dns;
using MailCloud.Functions;
using MailCloud.LocalDev;
using MailCloud.Pipeline;
using MailCloud.Smtp;
using MailCloud.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailCloud.FunctionalTests.Delivery;

/// <summary>
/// Remote delivery end to end: Azurite, the functions through the trigger driver, dnsmasq for MX lookups, and
/// aiosmtpd peers as the remote mail servers (127.0.0.3 = mx1.remote.test, 127.0.0.7 = mx.defer.test; nothing
/// listens on 127.0.0.8 = mx.down.test), and a second MailCloud (its own Azurite and SMTP server) as
/// mx.chunky.test on 127.0.0.11: a peer that offers CHUNKING and DSN, which aiosmtpd does not.
/// </summary>
public sealed class DeliveryFixture : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "mailcloud-delivery-tests", Guid.NewGuid().ToString("N"));
    private LocalFunctionsHost? _functions;
    private FunctionsDriver? Driver => _functions?.Driver;

    /// <summary>remote.test's DKIM key (selector "auth") for the inbound authentication tests; published in the zone with a reject DMARC policy.</summary>
    public static readonly System.Security.Cryptography.RSA RemoteDkimKey = System.Security.Cryptography.RSA.Create(2048);

    public DnsmasqFixture Dns { get; } = new()
    {
        ExtraRecords =
        [
            "--txt-record=auth._domainkey.remote.test," + string.Join(",", Dkim.DkimSigner.DnsRecord(RemoteDkimKey).Chunk(255).Select(c => new string(c))),
            "--txt-record=_dmarc.remote.test,v=DMARC1; p=reject",
            // A block list (RFC 5782) listing 192.0.2.66.
            "--host-record=66.2.0.192.bl.test,127.0.0.2", "--local=/bl.test/",
        ],
    };
    public AzuriteProcess Azurite { get; private set; } = null!;
    public StorageAccount Account { get; private set; } = null!;
    public SmtpPeers Peers { get; private set; } = null!;
    public AzuriteProcess PeerAzurite { get; private set; } = null!;
    public StorageAccount PeerAccount { get; private set; } = null!;
    private WebApplication? _peerSmtp;
    public int PeerPort { get; } = AzuriteProcess.FreePort();
    public DeliveryOptions Options => new() { RemotePort = PeerPort, RetrySchedule = [TimeSpan.FromSeconds(1)], Lifetime = TimeSpan.FromSeconds(6), DelayNotice = TimeSpan.FromSeconds(1) };

    public async Task InitializeAsync()
    {
        await Dns.InitializeAsync();
        Azurite = await AzuriteProcess.StartAsync(Path.Combine(_data, "azurite"));
        Account = new StorageAccount(Azurite.Connection);
        await StorageProvisioner.EnsureCreatedAsync(Account);
        var directory = StorageProvisioner.Directory(Account);
        await directory.AddDomainAsync("example.test");
        await directory.AddUserAsync(MailAddress.Parse("alice@example.test"), "correct horse");
        Peers = await SmtpPeers.StartAsync(PeerPort, ["127.0.0.3", "127.0.0.7"]);

        PeerAzurite = await AzuriteProcess.StartAsync(Path.Combine(_data, "peer-azurite"));
        PeerAccount = new StorageAccount(PeerAzurite.Connection);
        await StorageProvisioner.EnsureCreatedAsync(PeerAccount);
        var peerDirectory = StorageProvisioner.Directory(PeerAccount);
        await peerDirectory.AddDomainAsync("chunky.test");
        await peerDirectory.AddUserAsync(MailAddress.Parse("carol@chunky.test"), "peer password");
        var peerOptions = new SmtpServerOptions { HostName = "mx.chunky.test", MxGreetingDelay = TimeSpan.Zero, Certificate = DevCertificate.LoadOrCreate(Path.Combine(_data, "peer.pfx")) };
        peerOptions.Listeners.Add(new SmtpListener("smtp", new IPEndPoint(IPAddress.Parse("127.0.0.11"), PeerPort), SmtpListenerRole.Mx, false));
        _peerSmtp = SmtpServerHost.Build(peerOptions, PeerAccount, l => l.AddFilter(_ => false));
        await _peerSmtp.StartAsync();

        var pipeline = new PipelineSettings(Account, "mx.mailcloud.test")
        {
            Delivery = Options,
            Dns = new DnsResolver([Dns.EndPoint], TimeSpan.FromSeconds(1)),
            BlockLists = ["bl.test"],
        };
        _functions = LocalFunctionsHost.Create(Account, typeof(PipelineFunctions).Assembly, s => s.AddMailCloudPipeline(pipeline), Path.Combine(MailCloudToolTests.RepoRoot(), "host.json"));
        _functions.Start();
    }

    /// <summary>Submits a message from alice as the SMTP front end would after AUTH.</summary>
    public async Task<InboundWorkItem> SubmitAsync(string[] recipients, string subject, string? envId = null, string? notify = null)
    {
        var now = DateTimeOffset.UtcNow;
        var envelope = new Envelope
        {
            Sender = "alice@example.test",
            Recipients = recipients.Select(r => new EnvelopeRecipient(r, notify, $"rfc822;{r}")).ToList(),
            EnvId = envId,
            ClientAddress = "127.0.0.1",
            Helo = "laptop",
            Listener = "submission",
            AuthenticatedUser = "alice@example.test",
            ReceivedAt = now,
        };
        var message = $"From: alice@example.test\r\nTo: {recipients[0]}\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n.line with a dot\r\n";
        return await new StorageMessageSpool(Account).StoreAsync(MessageIds.New(now), envelope, new MemoryStream(Encoding.UTF8.GetBytes(message)), CancellationToken.None);
    }

    /// <summary>An outbound work item for a submitted message, to drive a differently configured deliver stage directly.</summary>
    public static OutboundWorkItem OutboundItem(InboundWorkItem submitted, string key, string domain, string recipient) => new()
    {
        Key = key,
        MessageId = submitted.MessageId,
        MessageBlob = submitted.MessageBlob,
        Sender = "alice@example.test",
        Domain = domain,
        Recipients = [new EnvelopeRecipient(recipient)],
        ReceivedAt = DateTimeOffset.UtcNow,
        Size = submitted.Size,
    };

    /// <summary>Spools a message as the MX front end would have accepted it from <paramref name="client"/>.</summary>
    public async Task SpoolFromMxAsync(string client, string sender, byte[] message)
    {
        var now = DateTimeOffset.UtcNow;
        var envelope = new Envelope
        {
            Sender = sender,
            Recipients = [new EnvelopeRecipient("alice@example.test")],
            ClientAddress = client,
            Helo = "mail.remote.test",
            Listener = "mx",
            ReceivedAt = now,
        };
        await new StorageMessageSpool(Account).StoreAsync(MessageIds.New(now), envelope, new MemoryStream(message), CancellationToken.None);
    }

    public async Task<TableEntity> WaitForMailboxAsync(string subjectPart, TimeSpan? timeout = null, string folder = "INBOX")
    {
        var mailboxes = Account.Tables.GetTableClient(StorageNames.MailboxTable);
        var partition = TableMailboxUsage.Partition(MailAddress.Parse("alice@example.test"));
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            await foreach (var e in mailboxes.QueryRowsAsync(TableFilter.And(TableFilter.PartitionKey(partition), TableFilter.RowKeyPrefix($"msg:{folder}:"))))
            {
                if (e.GetString("Subject")?.Contains(subjectPart, StringComparison.Ordinal) == true)
                    return e;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"no '{subjectPart}' in alice's {folder}");
    }

    /// <summary>The raw text of every message in alice's INBOX with this subject, once there are <paramref name="count"/> (or the time is up).</summary>
    public async Task<List<string>> MessagesWithSubjectAsync(string subject, int count, TimeSpan timeout)
    {
        var texts = new List<string>();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && texts.Count < count)
        {
            texts.Clear();
            await foreach (var e in Account.Tables.GetTableClient(StorageNames.MailboxTable).QueryRowsAsync(TableFilter.RowKeyPrefix("msg:INBOX:")))
            {
                if (e.GetString("Subject") == subject)
                    texts.Add(await BlobTextAsync(e));
            }
            await Task.Delay(200);
        }
        return texts;
    }

    public async Task<string> BlobTextAsync(TableEntity row) =>
        (await Account.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(row.GetString("Blob")!).DownloadContentAsync()).Value.Content.ToString();

    public async Task DisposeAsync()
    {
        if (_functions is not null)
            await _functions.DisposeAsync();
        await Peers.DisposeAsync();
        if (_peerSmtp is not null)
        {
            await _peerSmtp.StopAsync();
            await _peerSmtp.DisposeAsync();
        }
        await PeerAzurite.DisposeAsync();
        await Azurite.DisposeAsync();
        await Dns.DisposeAsync();
        try { Directory.Delete(_data, true); } catch (IOException) { }
    }
}

public sealed class DeliveryTests(DeliveryFixture fx) : IClassFixture<DeliveryFixture>
{
    [Fact]
    public async Task Delivered_to_the_preferred_mx_with_dsn_parameters_passed_on()
    {
        await fx.SubmitAsync(["bob@remote.test"], "plain delivery", envId: "env-42", notify: "FAILURE,DELAY");
        var got = (await fx.Peers.WaitForAsync(m => m.GetProperty("data").GetString()!.Contains("plain delivery", StringComparison.Ordinal))).Single();
        Assert.Equal("127.0.0.3", got.GetProperty("sock").GetString()); // mx1 (preference 10), not mx2 (20)
        Assert.Equal("alice@example.test", got.GetProperty("from").GetString());
        Assert.Equal("mx.mailcloud.test", got.GetProperty("host").GetString());
        Assert.Contains("\r\n.line with a dot\r\n", got.GetProperty("data").GetString(), StringComparison.Ordinal); // dot-stuffing undone by the peer
        // aiosmtpd advertises no DSN, so ENVID/NOTIFY are (correctly) not sent.
        Assert.DoesNotContain("ENVID", got.GetProperty("mail_options").ToString(), StringComparison.Ordinal);

        // Signed twice with example.test's keys (ed25519-sha256 first, then rsa-sha256), and an independent verifier
        // (dkimpy, with python3-nacl for Ed25519) passes both, each key served under its own selector.
        var data = got.GetProperty("data").GetString()!;
        var unfolded = data.Replace("\r\n\t", " ", StringComparison.Ordinal);
        Assert.StartsWith("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.test; s=mc1ed;", unfolded, StringComparison.Ordinal);
        Assert.Contains("\r\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=mc1;", unfolded, StringComparison.Ordinal);
        var key = (await StorageProvisioner.Directory(fx.Account).GetDkimKeyAsync("example.test"))!;
        using var rsa = System.Security.Cryptography.RSA.Create();
        rsa.ImportPkcs8PrivateKey(key.PrivateKey, out _);
        // The keys are published in a real DNS zone (a second dnsmasq), and two independent verifiers look them up there:
        // dkimpy (Debian python3-dkim, python3-nacl for Ed25519) through dnspython, and npm mailauth through node's resolver.
        // dnsmasq makes each comma-separated piece one character-string (at most 255 bytes; DKIM records have no commas).
        static string Txt(string name, string record) => $"--txt-record={name}," + string.Join(",", record.Chunk(255).Select(c => new string(c)));
        var zone = new DnsmasqFixture { ExtraRecords = [
            Txt("mc1._domainkey.example.test", Dkim.DkimSigner.DnsRecord(rsa)),
            Txt("mc1ed._domainkey.example.test", Dkim.DkimSigner.Ed25519DnsRecord(key.Ed25519Key!)),
            "--local=/example.test/",
        ] };
        await zone.InitializeAsync();
        try
        {
            await VerifyWithDnsAsync(zone.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), data);
        }
        finally
        {
            await zone.DisposeAsync();
        }
    }

    private static async Task VerifyWithDnsAsync(string port, string data)
    {
        var dkimpy = await ExternalProcess.RunAsync("/usr/bin/python3", ["-c", """
import dkim, sys, dns.resolver
r = dns.resolver.Resolver(configure=False); r.nameservers = ["127.0.0.1"]; r.port = int(sys.argv[1])
def txt(name, timeout=5):
    return b"".join(b"".join(rd.strings) for rd in r.resolve(name.decode().rstrip("."), "TXT"))
d = dkim.DKIM(sys.stdin.buffer.read())
print(" ".join("pass" if d.verify(idx=i, dnsfunc=txt) else "fail" for i in range(2)))
""", port], data);
        Assert.True(dkimpy.ExitCode == 0, dkimpy.Stderr);
        Assert.Equal("pass pass", dkimpy.Stdout.Trim());
        var mailauth = await ExternalProcess.RunAsync("node", ["-e", """
const { dkimVerify } = require('mailauth/lib/dkim/verify');
const { Resolver } = require('dns').promises;
const resolver = new Resolver(); resolver.setServers(['127.0.0.1:' + process.argv[1]]);
let input = [];
process.stdin.on('data', c => input.push(c)).on('end', async () => {
  const result = await dkimVerify(Buffer.concat(input), { resolver: (name, type) => resolver.resolve(name, type) });
  console.log(result.results.map(r => `${r.algo} ${r.selector} ${r.status.result}`).join('\n'));
});
""", port], data, env: new Dictionary<string, string> { ["NODE_PATH"] = Path.Combine(MailCloudToolTests.RepoRoot(), "node_modules") });
        Assert.True(mailauth.ExitCode == 0, mailauth.Stderr);
        Assert.Equal(["ed25519-sha256 mc1ed pass", "rsa-sha256 mc1 pass"], mailauth.Stdout.Trim().Split('\n'));
    }

    [Fact]
    public async Task A_peer_offering_chunking_and_dsn_gets_bdat_and_the_dsn_parameters()
    {
        await fx.SubmitAsync(["carol@chunky.test"], "to a mailcloud peer", envId: "env-77", notify: "SUCCESS,FAILURE");
        // The peer is a MailCloud: what it accepted is a work item on its own inbound queue.
        var inbound = fx.PeerAccount.Queues.GetQueueClient(StorageNames.InboundQueue);
        var spool = new StorageMessageSpool(fx.PeerAccount);
        (InboundWorkItem Item, Envelope Envelope)? got = null;
        for (int i = 0; i < 100 && got is null; i++)
        {
            foreach (var m in (await inbound.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30))).Value)
                got = await spool.ReadWorkItemAsync(m.Body);
            if (got is null)
                await Task.Delay(200);
        }
        Assert.NotNull(got);
        var (item, envelope) = got.Value;
        Assert.True(envelope.Chunked, "sent with BDAT");
        Assert.Equal("alice@example.test", envelope.Sender);
        Assert.Equal("env-77", envelope.EnvId);
        var rcpt = Assert.Single(envelope.Recipients);
        Assert.Equal("carol@chunky.test", rcpt.Address);
        Assert.Equal("SUCCESS,FAILURE", rcpt.Notify);
        Assert.Equal("rfc822;carol@chunky.test", rcpt.OriginalRecipient);
        Assert.NotNull(envelope.Tls); // opportunistic STARTTLS with the peer's self-signed certificate
        var text = (await fx.PeerAccount.Blobs.GetBlobContainerClient(StorageNames.MessagesContainer).GetBlobClient(item.MessageBlob).DownloadContentAsync()).Value.Content.ToString();
        // Byte-exact after the peer's own Received line: both signatures, then the message with its leading-dot line unstuffed.
        Assert.Contains("\r\nDKIM-Signature: v=1; a=ed25519-sha256;", text.Replace("\r\n\t", " ", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.EndsWith("Subject: to a mailcloud peer\r\n\r\nbody of to a mailcloud peer\r\n.line with a dot\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Incoming_mail_gets_spf_dkim_and_dmarc_results_and_spoofs_go_to_junk()
    {
        // Signed by an independent signer (npm mailauth) with remote.test's key, whose record is in the dnsmasq zone.
        var message = "From: News <news@remote.test>\r\nTo: alice@example.test\r\nSubject: SUBJECT\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m@remote.test>\r\n\r\nSigned body line\r\n";
        async Task<string> SignAsync(string text, string canonicalization = "relaxed/relaxed")
        {
            var r = await ExternalProcess.RunAsync("node", ["-e", """
const { dkimSign } = require('mailauth/lib/dkim/sign');
let input = []; process.stdin.on('data', c => input.push(c)).on('end', async () => {
  const msg = Buffer.concat(input);
  // signTime fixed: without it mailauth 4.13 computes t= twice (once signed, once written), and a second boundary between
  // the two makes a signature that no verifier accepts (about 1 in 1,000 signatures; it failed a CI run).
  const res = await dkimSign(msg, { signTime: new Date(), signatureData: [{ signingDomain: 'remote.test', selector: 'auth', privateKey: process.env.DKIM_KEY, algorithm: 'rsa-sha256', canonicalization: process.env.CANON }] });
  if (res.errors && res.errors.length) { console.error(JSON.stringify(res.errors)); process.exit(1); }
  process.stdout.write(res.signatures + msg.toString('latin1'));
});
"""], text, env: new Dictionary<string, string>
            {
                ["NODE_PATH"] = Path.Combine(MailCloudToolTests.RepoRoot(), "node_modules"),
                ["DKIM_KEY"] = DeliveryFixture.RemoteDkimKey.ExportPkcs8PrivateKeyPem(),
                ["CANON"] = canonicalization,
            });
            Assert.True(r.ExitCode == 0, r.Stderr);
            return r.Stdout;
        }
        var good = await SignAsync(message.Replace("SUBJECT", "auth good", StringComparison.Ordinal));
        await fx.SpoolFromMxAsync("127.0.0.1", "news@remote.test", Encoding.Latin1.GetBytes(good));
        var simple = await SignAsync(message.Replace("SUBJECT", "auth simple", StringComparison.Ordinal), "simple/simple");
        await fx.SpoolFromMxAsync("127.0.0.1", "news@remote.test", Encoding.Latin1.GetBytes(simple));
        var tampered = (await SignAsync(message.Replace("SUBJECT", "auth tampered", StringComparison.Ordinal))).Replace("Signed body line", "Changed body line", StringComparison.Ordinal);
        await fx.SpoolFromMxAsync("127.0.0.1", "news@remote.test", Encoding.Latin1.GetBytes(tampered));
        // A spoof: remote.test's From from an address its SPF does not allow, unsigned; DMARC p=reject → Junk.
        await fx.SpoolFromMxAsync("192.0.2.1", "news@remote.test", Encoding.Latin1.GetBytes(message.Replace("SUBJECT", "auth spoof", StringComparison.Ordinal)));

        string Results(TableEntity row) => JsonDocument.Parse(row.GetString("Verdict")!).RootElement.GetProperty("authenticationResults").GetString()!;
        var ok = Results(await fx.WaitForMailboxAsync("auth good"));
        Assert.Equal("mx.mailcloud.test; spf=pass smtp.mailfrom=news@remote.test; dkim=pass header.d=remote.test header.s=auth header.a=rsa-sha256; dmarc=pass (p=reject) header.from=remote.test", ok);
        Assert.Contains("dkim=pass header.d=remote.test", Results(await fx.WaitForMailboxAsync("auth simple")), StringComparison.Ordinal);
        var bad = Results(await fx.WaitForMailboxAsync("auth tampered"));
        Assert.Contains("spf=pass", bad, StringComparison.Ordinal);
        Assert.Contains("dkim=fail (body hash did not verify) header.d=remote.test", bad, StringComparison.Ordinal);
        Assert.Contains("dmarc=pass", bad, StringComparison.Ordinal); // SPF is aligned
        var spoof = await fx.WaitForMailboxAsync("auth spoof", folder: "Junk");
        Assert.Equal("mx.mailcloud.test; spf=fail smtp.mailfrom=news@remote.test; dkim=none; dmarc=fail (p=reject) header.from=remote.test", Results(spoof));
        Assert.True(spoof.GetBoolean("Spam"));
    }

    [Fact]
    public async Task Mail_from_an_address_on_a_block_list_goes_to_junk()
    {
        const string message = "From: someone@elsewhere.test\r\nTo: alice@example.test\r\nSubject: SUBJECT\r\n\r\nhello\r\n";
        await fx.SpoolFromMxAsync("192.0.2.66", "someone@elsewhere.test", Encoding.ASCII.GetBytes(message.Replace("SUBJECT", "from a listed host", StringComparison.Ordinal)));
        await fx.SpoolFromMxAsync("192.0.2.67", "someone@elsewhere.test", Encoding.ASCII.GetBytes(message.Replace("SUBJECT", "from an unlisted host", StringComparison.Ordinal)));
        var listed = await fx.WaitForMailboxAsync("from a listed host", folder: "Junk");
        Assert.Contains("192.0.2.66 is listed in bl.test", listed.GetString("Verdict"), StringComparison.Ordinal);
        var clean = await fx.WaitForMailboxAsync("from an unlisted host");
        Assert.False(clean.GetBoolean("Spam"));
    }

    [Fact]
    public async Task Greylisting_451_is_retried_and_then_delivered()
    {
        await fx.SubmitAsync(["once-grey@defer.test"], "greylisted");
        var got = await fx.Peers.WaitForAsync(m => m.GetProperty("data").GetString()!.Contains("greylisted", StringComparison.Ordinal), timeout: TimeSpan.FromSeconds(20));
        Assert.Single(got);
        Assert.Equal("127.0.0.7", got[0].GetProperty("sock").GetString());
    }

    [Fact]
    public async Task A_550_bounces_exactly_once_to_the_sender()
    {
        await fx.SubmitAsync(["reject-me@remote.test"], "to be rejected");
        var bounce = await fx.WaitForMailboxAsync("Undelivered Mail Returned to Sender: to be rejected");
        var text = await fx.BlobTextAsync(bounce);
        Assert.Contains("Final-Recipient: rfc822; reject-me@remote.test", text, StringComparison.Ordinal);
        Assert.Contains("Status: 5.1.1", text, StringComparison.Ordinal);
        Assert.Contains("Remote-MTA: dns; mx1.remote.test", text, StringComparison.Ordinal);
        Assert.Contains("Diagnostic-Code: smtp; 550 5.1.1", text, StringComparison.Ordinal);
        await Task.Delay(3000);
        var rows = new List<TableEntity>();
        await foreach (var e in fx.Account.Tables.GetTableClient(StorageNames.MailboxTable).QueryRowsAsync(TableFilter.RowKeyPrefix("msg:INBOX:")))
            rows.Add(e);
        Assert.Single(rows, r => r.GetString("Subject") == "Undelivered Mail Returned to Sender: to be rejected");
    }

    [Fact]
    public async Task A_domain_down_for_the_whole_lifetime_warns_once_then_bounces_once()
    {
        await fx.SubmitAsync(["someone@down.test"], "never arrives");
        var bounce = await fx.WaitForMailboxAsync("Undelivered Mail Returned to Sender: never arrives", TimeSpan.FromSeconds(40));
        var text = await fx.BlobTextAsync(bounce);
        Assert.Contains("Status: 4.4.7", text, StringComparison.Ordinal);
        Assert.Contains("delivery time expired", text, StringComparison.Ordinal);
        // Past the delay-notice time (1 s here) the sender was told once that the message is still being retried.
        var warnings = await fx.MessagesWithSubjectAsync("Delayed Mail (still being retried): never arrives", 2, TimeSpan.FromSeconds(3));
        var warning = Assert.Single(warnings);
        Assert.Contains("Action: delayed", warning, StringComparison.Ordinal);
        Assert.Contains("Final-Recipient: rfc822; someone@down.test", warning, StringComparison.Ordinal);

        // NOTIFY=FAILURE (without DELAY) asks for no warning: only the bounce comes.
        await fx.SubmitAsync(["other@down.test"], "failure only", notify: "FAILURE");
        await fx.WaitForMailboxAsync("Undelivered Mail Returned to Sender: failure only", TimeSpan.FromSeconds(40));
        Assert.Empty(await fx.MessagesWithSubjectAsync("Delayed Mail (still being retried): failure only", 1, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task Mixed_recipients_are_each_handled_right()
    {
        await fx.SubmitAsync(["ok-one@remote.test", "defer-two@remote.test", "reject-three@remote.test"], "mixed bag");
        var ok = await fx.Peers.WaitForAsync(m => m.GetProperty("data").GetString()!.Contains("mixed bag", StringComparison.Ordinal));
        Assert.Equal("[\"ok-one@remote.test\"]", ok.Single().GetProperty("to").GetRawText());
        // The rejected one bounces at once; the deferred one after its lifetime; each in its own notification.
        var bounces = await fx.MessagesWithSubjectAsync("Undelivered Mail Returned to Sender: mixed bag", 2, TimeSpan.FromSeconds(40));
        Assert.Equal(2, bounces.Count);
        Assert.Contains(bounces, b => b.Contains("reject-three@remote.test", StringComparison.Ordinal) && b.Contains("Status: 5.1.1", StringComparison.Ordinal) && !b.Contains("defer-two", StringComparison.Ordinal));
        Assert.Contains(bounces, b => b.Contains("defer-two@remote.test", StringComparison.Ordinal) && b.Contains("Status: 4.4.7", StringComparison.Ordinal));
        Assert.Single(fx.Peers.Received(), m => m.GetProperty("data").GetString()!.Contains("mixed bag", StringComparison.Ordinal)); // never sent twice
    }

    /// <summary>
    /// One message delivered remotely and locally, one rejected by the peer, one greylisted first: each trace shows
    /// every stage it went through, through the store and through <c>./mailcloud trace</c> by id and by address.
    /// </summary>
    [Fact]
    public async Task Trace_shows_every_stage_of_a_delivered_a_bounced_and_a_deferred_message()
    {
        var delivered = await fx.SubmitAsync(["traced-ok@remote.test", "alice@example.test"], "traced delivered");
        var bounced = await fx.SubmitAsync(["reject-traced@remote.test"], "traced bounce");
        var deferred = await fx.SubmitAsync(["once-traced@defer.test"], "traced greylist");
        var store = new MessageTraceStore(fx.Account);

        var ok = await WaitForTraceAsync(store, delivered.MessageId, es => es.Any(e => e.Stage == TraceStage.Attempt && e.Text.Contains("<traced-ok@remote.test> 250", StringComparison.Ordinal)));
        Assert.Equal(TraceStage.Accepted, ok[0].Stage);
        Assert.Contains("submission from 127.0.0.1 (HELO laptop), no TLS, authenticated as alice@example.test: <alice@example.test> to traced-ok@remote.test, alice@example.test", ok[0].Text, StringComparison.Ordinal);
        Assert.Contains(ok, e => e.Stage == TraceStage.Filtered && e.Text.Contains("not spam", StringComparison.Ordinal));
        Assert.Contains(ok, e => e.Stage == TraceStage.Routed && e.Text.Contains("local: alice@example.test/INBOX", StringComparison.Ordinal) && e.Text.Contains("remote remote.test: traced-ok@remote.test queued", StringComparison.Ordinal));
        Assert.Contains(ok, e => e.Stage == TraceStage.Indexed && e.Text.StartsWith("alice@example.test/INBOX uid ", StringComparison.Ordinal));
        Assert.Contains(ok, e => e.Stage == TraceStage.Attempt && e.Text.Contains("mx1.remote.test [127.0.0.3]", StringComparison.Ordinal));
        Assert.DoesNotContain(ok, e => e.Stage is TraceStage.Error or TraceStage.Bounced or TraceStage.Deferred);
        Assert.Equal(ok.Select(e => e.At).Order(), ok.Select(e => e.At));

        var rejected = await WaitForTraceAsync(store, bounced.MessageId, es => es.Any(e => e.Stage == TraceStage.Bounced));
        Assert.Contains(rejected, e => e.Stage == TraceStage.Attempt && e.Text.Contains("<reject-traced@remote.test> 550 5.1.1", StringComparison.Ordinal));
        var bounce = Assert.Single(rejected, e => e.Stage == TraceStage.Bounced);
        Assert.Contains("sent to <alice@example.test> for reject-traced@remote.test (5.1.1)", bounce.Text, StringComparison.Ordinal);
        // The bounce is a message of its own, traced from its acceptance (internal, null sender) to alice's INBOX.
        var bounceId = bounce.Text.Split(' ')[1];
        var dsn = await WaitForTraceAsync(store, bounceId, es => es.Any(e => e.Stage == TraceStage.Indexed));
        Assert.Contains("internal from 127.0.0.1", dsn[0].Text, StringComparison.Ordinal);
        Assert.Contains(dsn, e => e.Stage == TraceStage.Indexed && e.Text.StartsWith("alice@example.test/INBOX", StringComparison.Ordinal));

        var grey = await WaitForTraceAsync(store, deferred.MessageId, es => es.Any(e => e.Stage == TraceStage.Attempt && e.Text.Contains("250", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));
        var firstAttempt = grey.First(e => e.Stage == TraceStage.Attempt);
        Assert.Contains("attempt 1: mx.defer.test [127.0.0.7]", firstAttempt.Text, StringComparison.Ordinal);
        Assert.Contains("<once-traced@defer.test> 451 4.2.0 greylisted", firstAttempt.Text, StringComparison.Ordinal);
        Assert.Contains(grey, e => e.Stage == TraceStage.Deferred && e.Text.Contains("once-traced@defer.test deferred (451 4.2.0 greylisted, try again); attempt 2 at ", StringComparison.Ordinal));
        Assert.Contains(grey, e => e.Stage == TraceStage.Attempt && e.Text.StartsWith("attempt 2: mx.defer.test", StringComparison.Ordinal) && e.Text.Contains("<once-traced@defer.test> 250", StringComparison.Ordinal));

        // The CLI shows the same, by message id and by address (newest first).
        var env = new Dictionary<string, string> { ["MAILCLOUD_STORAGE"] = fx.Azurite.ConnectionString };
        var byId = await MailCloudToolTests.RunAsync(env, null, "trace", deferred.MessageId);
        Assert.True(byId.ExitCode == 0, byId.Stderr);
        Assert.Contains($"message {deferred.MessageId}", byId.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z  deferred  once-traced@defer.test deferred", byId.Stdout);
        var byAddress = await MailCloudToolTests.RunAsync(env, null, "trace", "reject-traced@remote.test");
        Assert.True(byAddress.ExitCode == 0, byAddress.Stderr);
        Assert.Contains($"message {bounced.MessageId}", byAddress.Stdout, StringComparison.Ordinal);
        Assert.Contains("bounced   bounce dsn", byAddress.Stdout, StringComparison.Ordinal);
        var none = await MailCloudToolTests.RunAsync(env, null, "trace", "20000101000000000nothing");
        Assert.Equal(1, none.ExitCode);
        Assert.Contains("no trace for '20000101000000000nothing'", none.Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// A greylisted delivery scheduled an hour out is listed with its last error, and <c>./mailcloud queue retry</c>
    /// makes it due now: the fixture's deliver stage takes it at once and the peer gets it, once.
    /// </summary>
    [Fact]
    public async Task Queue_retry_brings_a_deferred_delivery_forward()
    {
        var submitted = await fx.SubmitAsync(["alice@example.test"], "retry me now"); // a stored message to point at
        var item = DeliveryFixture.OutboundItem(submitted, $"{submitted.MessageId}:alice@example.test:defer.test", "defer.test", "once-retry-now@defer.test");
        var patient = new RemoteDeliverer(fx.Account, new DnsResolver([fx.Dns.EndPoint]), fx.Options with { RetrySchedule = [TimeSpan.FromHours(1)], Lifetime = TimeSpan.FromDays(5) },
            "mx.mailcloud.test", NullLogger.Instance);
        var first = await patient.DeliverAsync(item, CancellationToken.None);
        Assert.Equal(1, first.Deferred);

        var waiting = Assert.Single(await new ScheduledRetryStore(fx.Account).ListAsync(), r => r.MessageId == submitted.MessageId);
        Assert.Equal(1, waiting.Attempt);
        Assert.Contains("451 4.2.0 greylisted", waiting.LastError, StringComparison.Ordinal);
        Assert.InRange(waiting.Due, DateTimeOffset.UtcNow + TimeSpan.FromMinutes(40), DateTimeOffset.UtcNow + TimeSpan.FromMinutes(80));

        var env = new Dictionary<string, string> { ["MAILCLOUD_STORAGE"] = fx.Azurite.ConnectionString };
        var show = await MailCloudToolTests.RunAsync(env, null, "queue", "show", "outbound");
        Assert.True(show.ExitCode == 0, show.Stderr);
        Assert.Contains($"{submitted.MessageId}  attempt 2 due ", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("to once-retry-now@defer.test  last error: 451 4.2.0 greylisted", show.Stdout, StringComparison.Ordinal);

        var retry = await MailCloudToolTests.RunAsync(env, null, "queue", "retry", submitted.MessageId);
        Assert.True(retry.ExitCode == 0, retry.Stderr);
        Assert.Contains("1 deferred delivery made due now", retry.Stdout, StringComparison.Ordinal);
        var got = await fx.Peers.WaitForAsync(m => m.GetProperty("to").GetRawText().Contains("once-retry-now@defer.test", StringComparison.Ordinal), timeout: TimeSpan.FromSeconds(20));
        Assert.Single(got);
        // Delivered: off the list; a second retry finds nothing to bring forward.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await new ScheduledRetryStore(fx.Account).ListAsync()).Any(r => r.MessageId == submitted.MessageId) && DateTime.UtcNow < deadline)
            await Task.Delay(200);
        Assert.DoesNotContain(await new ScheduledRetryStore(fx.Account).ListAsync(), r => r.MessageId == submitted.MessageId);
        var again = await MailCloudToolTests.RunAsync(env, null, "queue", "retry", submitted.MessageId);
        Assert.Equal(1, again.ExitCode);
    }

    private static async Task<IReadOnlyList<TraceEvent>> WaitForTraceAsync(MessageTraceStore store, string messageId, Func<IReadOnlyList<TraceEvent>, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        IReadOnlyList<TraceEvent> events = [];
        while (DateTime.UtcNow < deadline)
        {
            events = await store.EventsAsync(messageId);
            if (done(events))
                return events;
            await Task.Delay(200);
        }
        throw new TimeoutException($"trace of {messageId} incomplete: " + string.Join(" | ", events.Select(e => $"{e.Stage}: {e.Text}")));
    }

    [Fact]
    public async Task Null_mx_and_nxdomain_fail_permanently_without_retries()
    {
        await fx.SubmitAsync(["x@nullmx.remote.test", "y@nothere.remote.test"], "no such place");
        // Two domains, two outbound items, two notifications — both on the first attempt.
        var texts = await fx.MessagesWithSubjectAsync("Undelivered Mail Returned to Sender: no such place", 2, TimeSpan.FromSeconds(20));
        Assert.Contains(texts, t => t.Contains("Status: 5.1.10", StringComparison.Ordinal) && t.Contains("null MX", StringComparison.Ordinal));
        Assert.Contains(texts, t => t.Contains("Status: 5.1.2", StringComparison.Ordinal) && t.Contains("does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Relay_host_with_auth_carries_everything_remote()
    {
        int relayPort = AzuriteProcess.FreePort();
        await using var relay = await SmtpPeers.StartAsync(relayPort, ["127.0.0.9"], auth: "relayuser:relaypass", tls: true);
        var deliverer = new RemoteDeliverer(fx.Account, new DnsResolver([fx.Dns.EndPoint]),
            fx.Options with { RelayHost = $"127.0.0.9:{relayPort}", RelayCredentials = new NetworkCredential("relayuser", "relaypass") },
            "mx.mailcloud.test", NullLogger.Instance);
        var item = await fx.SubmitAsync(["far@elsewhere.example"], "via the relay");
        // Drive the stage directly (the fixture's driver delivers via MX; this one is configured for the relay).
        var outcome = await deliverer.DeliverAsync(DeliveryFixture.OutboundItem(item, $"{item.MessageId}:relaytest", "elsewhere.example", "far@elsewhere.example"), CancellationToken.None);
        Assert.Equal(1, outcome.Delivered);
        var got = relay.Received().Single();
        Assert.Contains("relayuser", got.GetProperty("auth").GetString(), StringComparison.Ordinal);
        Assert.True(got.GetProperty("tls").GetBoolean()); // credentials only ever go over TLS

        // Wrong credentials: the relay refuses (535); that is a configuration problem, so the mail waits instead of bouncing.
        var wrong = new RemoteDeliverer(fx.Account, new DnsResolver([fx.Dns.EndPoint]),
            fx.Options with { RelayHost = $"127.0.0.9:{relayPort}", RelayCredentials = new NetworkCredential("relayuser", "nope") }, "mx.mailcloud.test", NullLogger.Instance);
        var refused = await wrong.DeliverAsync(DeliveryFixture.OutboundItem(item, $"{item.MessageId}:relaytest-wrong", "elsewhere.example", "far@elsewhere.example") with { Sender = "" },
            CancellationToken.None);
        Assert.Equal(0, refused.Failed);
        Assert.Equal(1, refused.Deferred);
    }
}
