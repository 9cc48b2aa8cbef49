using MailCloud.Core;

namespace MailCloud.Pipeline;

/// <param name="Via">The envelope recipient this delivery came from (its domain's spam policy applies).</param>
public sealed record LocalDelivery(MailAddress User, string Folder, EnvelopeRecipient? Via = null);

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
    public Task<RoutePlan> PlanAsync(Envelope envelope, Verdict verdict, CancellationToken cancellationToken) =>
        PlanAsync(envelope, _ => verdict.Spam ? "Junk" : "INBOX", cancellationToken);

    /// <param name="folderOf">The folder for users reached through each envelope recipient (INBOX or Junk).</param>
    public async Task<RoutePlan> PlanAsync(Envelope envelope, Func<EnvelopeRecipient, string> folderOf, CancellationToken cancellationToken)
    {
        var local = new List<LocalDelivery>();
        var remote = new List<RemoteDelivery>();
        var failures = new List<RouteFailure>();
        var seenUsers = new HashSet<MailAddress>();
        var seenRemote = new HashSet<(string, string)>();
        foreach (var rcpt in envelope.Recipients)
        {
            var top = rcpt;
            var folder = folderOf(rcpt);
            if (!MailAddress.TryParse(rcpt.Address, out var address))
            {
                failures.Add(new RouteFailure(rcpt.Address, "5.1.3", "bad recipient address syntax", rcpt));
                continue;
            }
            await ExpandAsync(address, envelope.Sender, rcpt, depth: 0, new HashSet<MailAddress>(), folder, top).ConfigureAwait(false);
        }
        return new RoutePlan(local, remote, failures);

        async Task ExpandAsync(MailAddress address, string sender, EnvelopeRecipient original, int depth, HashSet<MailAddress> path, string folder, EnvelopeRecipient top)
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
                        local.Add(new LocalDelivery(resolution.User.Address, folder, top));
                    break;
                case RecipientKind.Alias or RecipientKind.CatchAll:
                    foreach (var target in resolution.Targets!)
                        await ExpandAsync(target, sender, original, depth + 1, [.. path], folder, top).ConfigureAwait(false);
                    break;
                case RecipientKind.List:
                    // Members' bounces go to the list, not to whoever wrote to it (RFC 5321 3.9).
                    var listSender = resolution.List!.BounceAddress.Address;
                    foreach (var member in resolution.Targets!)
                        await ExpandAsync(member, listSender, original with { Address = member.Address }, depth + 1, [.. path], folder, top).ConfigureAwait(false);
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
