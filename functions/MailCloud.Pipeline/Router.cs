using MailCloud.Core;

namespace MailCloud.Pipeline;

public sealed record LocalDelivery(MailAddress User, string Folder);

public sealed record RemoteDelivery(string Sender, EnvelopeRecipient Recipient);

public sealed record RouteFailure(string Recipient, string Status, string Reason, EnvelopeRecipient Original);

public sealed record RoutePlan(IReadOnlyList<LocalDelivery> Local, IReadOnlyList<RemoteDelivery> Remote, IReadOnlyList<RouteFailure> Failures);

/// <summary>
/// Expands envelope recipients through the directory: users (INBOX, or Junk for spam), aliases and catch-alls
/// (their targets), lists (their members, with the envelope sender rewritten to the list's bounce address),
/// remote addresses (the outbound queue). Each user gets one copy however many paths lead to them.
/// </summary>
public sealed class Router(IMailDirectory directory, int maxExpansionDepth = 8)
{
    public async Task<RoutePlan> PlanAsync(Envelope envelope, Verdict verdict, CancellationToken cancellationToken)
    {
        var local = new List<LocalDelivery>();
        var remote = new List<RemoteDelivery>();
        var failures = new List<RouteFailure>();
        var seenUsers = new HashSet<MailAddress>();
        var seenRemote = new HashSet<(string, string)>();
        var folder = verdict.Spam ? "Junk" : "INBOX";

        foreach (var rcpt in envelope.Recipients)
        {
            if (!MailAddress.TryParse(rcpt.Address, out var address))
            {
                failures.Add(new RouteFailure(rcpt.Address, "5.1.3", "bad recipient address syntax", rcpt));
                continue;
            }
            await ExpandAsync(address, envelope.Sender, rcpt, depth: 0, new HashSet<MailAddress>()).ConfigureAwait(false);
        }
        return new RoutePlan(local, remote, failures);

        async Task ExpandAsync(MailAddress address, string sender, EnvelopeRecipient original, int depth, HashSet<MailAddress> path)
        {
            if (depth > maxExpansionDepth || !path.Add(address))
            {
                failures.Add(new RouteFailure(address.Address, "5.4.6", "alias/list expansion loop", original));
                return;
            }
            var resolution = await directory.ResolveRecipientAsync(address, cancellationToken).ConfigureAwait(false);
            switch (resolution.Kind)
            {
                case RecipientKind.User:
                    if (seenUsers.Add(resolution.User!.Address))
                        local.Add(new LocalDelivery(resolution.User.Address, folder));
                    break;
                case RecipientKind.Alias or RecipientKind.CatchAll:
                    foreach (var target in resolution.Targets!)
                        await ExpandAsync(target, sender, original, depth + 1, [.. path]).ConfigureAwait(false);
                    break;
                case RecipientKind.List:
                    // Members' bounces go to the list, not to whoever wrote to it (RFC 5321 3.9).
                    var listSender = resolution.List!.BounceAddress.Address;
                    foreach (var member in resolution.Targets!)
                        await ExpandAsync(member, listSender, original with { Address = member.Address }, depth + 1, [.. path]).ConfigureAwait(false);
                    break;
                case RecipientKind.NotHosted:
                    if (seenRemote.Add((sender, address.Address)))
                        remote.Add(new RemoteDelivery(sender, original with { Address = address.Address }));
                    break;
                default:
                    failures.Add(new RouteFailure(address.Address, "5.1.1", "no such user here", original));
                    break;
            }
        }
    }
}
