using System.Net;
using System.Security.Cryptography;
using System.Text;
using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Protocols;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace MailCloud.Web;

/// <summary>
/// The administration API under <c>/api</c> (JSON): domains (catch-all), users (password, quota), aliases, mailing lists — what
/// <c>./mailcloud</c> does, for an admin UI or scripts. A bearer token guards it; only its SHA-256 is configured
/// (<c>MAILCLOUD_ADMIN_TOKEN_SHA256</c>, from <c>./mailcloud admin-token</c>), so the token itself is stored nowhere.
/// Without that setting the API answers 404. Failed tokens are throttled per address like mail logins.
/// </summary>
public static class AdminApi
{
    public sealed record DomainRequest(string Name);
    public sealed record UserRequest(string Address, string Password, long? QuotaBytes);
    public sealed record PasswordRequest(string Password);
    public sealed record QuotaRequest(long? QuotaBytes);
    public sealed record DisabledRequest(bool Disabled);
    public sealed record AdminRoleRequest(string Role);
    public sealed record AliasRequest(string Address, IReadOnlyList<string> Targets);
    public sealed record ListRequest(string Address, IReadOnlyList<string> Members);
    public sealed record CatchAllRequest(string? Target);
    public sealed record SpamRequest(double? JunkScore, double? QuarantineScore);

    /// <param name="quarantine">Held messages (list, release, delete); null leaves those endpoints out.</param>
    public static void Map(WebApplication app, IMailDirectory directory, string? tokenSha256, AuthThrottle throttle, QuarantineStore? quarantine = null, MailCloud.Storage.StorageAccount? queueStorage = null)
    {
        var api = app.MapGroup("/api");
        api.AddEndpointFilter(async (context, next) =>
        {
            if (string.IsNullOrEmpty(tokenSha256))
                return Results.NotFound(new { error = "the admin API is off (set MAILCLOUD_ADMIN_TOKEN_SHA256)" });
            var client = context.HttpContext.Connection.RemoteIpAddress ?? IPAddress.None;
            if (throttle.IsBlocked(client))
                return Results.Json(new { error = "too many failed attempts, try again later" }, statusCode: 429);
            var header = context.HttpContext.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || !AdminToken.Matches(header[7..].Trim(), tokenSha256))
            {
                var delay = throttle.RecordFailure(client);
                if (delay > TimeSpan.Zero)
                    await Task.Delay(delay);
                context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
                return Results.Json(new { error = "a valid admin token is required" }, statusCode: 401);
            }
            throttle.RecordSuccess(client);
            try
            {
                return await next(context);
            }
            catch (DirectoryException e)
            {
                var status = e.Kind switch
                {
                    DirectoryErrorKind.NotFound or DirectoryErrorKind.DomainNotHosted => 404,
                    DirectoryErrorKind.AlreadyExists or DirectoryErrorKind.NotEmpty => 409,
                    _ => 400,
                };
                return Results.Json(new { error = e.Message }, statusCode: status);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                return Results.Json(new { error = e.Message }, statusCode: 400);
            }
        });

        api.MapGet("/domains", async (CancellationToken ct) =>
            (await directory.ListDomainsAsync(ct)).Select(d => new
            {
                name = d.Name,
                created = d.Created,
                catchAll = d.CatchAll?.Address,
                spam = d.Spam is { } s ? new { junkScore = s.JunkScore, quarantineScore = s.QuarantineScore } : null,
            }));
        api.MapPost("/domains", async (DomainRequest body, CancellationToken ct) =>
        {
            var d = await directory.AddDomainAsync(body.Name, ct);
            return Results.Created($"/api/domains/{d.Name}", new { name = d.Name, created = d.Created });
        });
        api.MapDelete("/domains/{name}", async (string name, bool? force, CancellationToken ct) =>
        {
            await directory.RemoveDomainAsync(name, force ?? false, ct);
            return Results.NoContent();
        });
        api.MapGet("/domains/{name}/users", async (string name, CancellationToken ct) =>
            (await directory.ListUsersAsync(name, ct)).Select(u => new { address = u.Address.Address, quotaBytes = u.QuotaBytes, created = u.Created, disabled = u.Disabled, admin = AdminRoles.Name(u.Role) }));
        api.MapPost("/users", async (UserRequest body, CancellationToken ct) =>
        {
            var u = await directory.AddUserAsync(Address(body.Address), body.Password, body.QuotaBytes, ct);
            return Results.Created($"/api/users/{u.Address.Address}", new { address = u.Address.Address, quotaBytes = u.QuotaBytes });
        });
        api.MapDelete("/users/{address}", async (string address, CancellationToken ct) =>
        {
            await directory.RemoveUserAsync(Address(address), ct);
            return Results.NoContent();
        });
        api.MapPut("/users/{address}/password", async (string address, PasswordRequest body, CancellationToken ct) =>
        {
            await directory.SetPasswordAsync(Address(address), body.Password, ct);
            return Results.NoContent();
        });
        api.MapPut("/users/{address}/quota", async (string address, QuotaRequest body, CancellationToken ct) =>
        {
            await directory.SetQuotaAsync(Address(address), body.QuotaBytes, ct);
            return Results.NoContent();
        });
        // {"disabled": true} refuses every sign-in of the user; their mail keeps arriving.
        api.MapPut("/users/{address}/disabled", async (string address, DisabledRequest body, CancellationToken ct) =>
        {
            await directory.SetDisabledAsync(Address(address), body.Disabled, ct);
            return Results.NoContent();
        });
        // {"role": "none" | "domain" | "global"}: sign-in to the admin UI for the user's domain or the whole server.
        api.MapPut("/users/{address}/admin", async (string address, AdminRoleRequest body, CancellationToken ct) =>
        {
            if (!AdminRoles.TryParse(body.Role, out var role))
                throw new DirectoryException(DirectoryErrorKind.InvalidInput, $"'{body.Role}' is not a role (none, domain, global)");
            await directory.SetAdminRoleAsync(Address(address), role, ct);
            return Results.NoContent();
        });
        api.MapGet("/domains/{name}/aliases", async (string name, CancellationToken ct) =>
            (await directory.ListAliasesAsync(name, ct)).Select(a => new { address = a.Address.Address, targets = a.Targets.Select(t => t.Address) }));
        api.MapPost("/aliases", async (AliasRequest body, CancellationToken ct) =>
        {
            var a = await directory.AddAliasAsync(Address(body.Address), body.Targets.Select(Address).ToList(), ct);
            return Results.Created($"/api/aliases/{a.Address.Address}", new { address = a.Address.Address, targets = a.Targets.Select(t => t.Address) });
        });
        api.MapDelete("/aliases/{address}", async (string address, CancellationToken ct) =>
        {
            await directory.RemoveAliasAsync(Address(address), ct);
            return Results.NoContent();
        });
        api.MapGet("/domains/{name}/lists", async (string name, CancellationToken ct) =>
            (await directory.ListListsAsync(name, ct)).Select(l => new { address = l.Address.Address, members = l.Members.Select(m => m.Address) }));
        api.MapPost("/lists", async (ListRequest body, CancellationToken ct) =>
        {
            var l = await directory.AddListAsync(Address(body.Address), body.Members.Select(Address).ToList(), ct);
            return Results.Created($"/api/lists/{l.Address.Address}", new { address = l.Address.Address, members = l.Members.Select(m => m.Address) });
        });
        api.MapDelete("/lists/{address}", async (string address, CancellationToken ct) =>
        {
            await directory.RemoveListAsync(Address(address), ct);
            return Results.NoContent();
        });
        api.MapPut("/domains/{name}/catchall", async (string name, CatchAllRequest body, CancellationToken ct) =>
        {
            await directory.SetCatchAllAsync(name, body.Target is { Length: > 0 } t ? Address(t) : null, ct);
            return Results.NoContent();
        });
        // Spam thresholds: {"junkScore": 5, "quarantineScore": 15}; {"junkScore": null} removes them.
        api.MapPut("/domains/{name}/spam", async (string name, SpamRequest body, CancellationToken ct) =>
        {
            await directory.SetSpamPolicyAsync(name, body.JunkScore is { } j ? new SpamPolicy(j, body.QuarantineScore) : null, ct);
            return Results.NoContent();
        });
        if (quarantine is not null)
            MapQuarantine(api, quarantine);
        if (queueStorage is not null)
        {
            MapQueues(api, new QueueInspector(queueStorage), new SpoolMaintenance(queueStorage));
            MapTrace(api, new MessageTraceStore(queueStorage));
        }
    }

    private static void MapQuarantine(RouteGroupBuilder api, QuarantineStore quarantine)
    {
        static object View(QuarantineEntry e) => new
        {
            id = e.Id,
            held = e.Quarantined,
            reason = e.Reason,
            detail = e.Detail,
            sender = e.Envelope.Sender,
            recipients = e.Envelope.Recipients.Select(r => r.Address),
            from = e.From,
            subject = e.Subject,
            size = e.Size,
        };
        api.MapGet("/quarantine", async (CancellationToken ct) =>
        {
            var list = new List<object>();
            await foreach (var e in quarantine.ListAsync(ct))
                list.Add(View(e));
            return list;
        });
        api.MapGet("/quarantine/{id}", async (string id, CancellationToken ct) =>
            await quarantine.GetAsync(id, ct) is { } e ? Results.Ok(View(e)) : Results.NotFound(new { error = $"no quarantine entry {id}" }));
        api.MapPost("/quarantine/{id}/release", async (string id, CancellationToken ct) =>
            await quarantine.ReleaseAsync(id, ct) ? Results.Accepted() : Results.NotFound(new { error = $"no quarantine entry {id}" }));
        api.MapDelete("/quarantine/{id}", async (string id, CancellationToken ct) =>
        {
            if (await quarantine.GetAsync(id, ct) is not { } e)
                return Results.NotFound(new { error = $"no quarantine entry {id}" });
            await quarantine.DeleteAsync(e, ct);
            return Results.NoContent();
        });
    }

    /// <summary>The same as <c>./mailcloud queue list|show|replay|delete</c>.</summary>
    private static void MapQueues(RouteGroupBuilder api, QueueInspector queues, SpoolMaintenance spool)
    {
        static object View(QueuedItem i) => new { id = i.Id, inserted = i.Inserted, dequeueCount = i.DequeueCount, messageId = i.MessageId, blob = i.MessageBlob, body = i.Body };
        IResult NoSuchQueue(string name) => Results.NotFound(new { error = $"no queue '{name}'" });
        api.MapGet("/queues", async (CancellationToken ct) =>
            (await queues.DepthsAsync(ct)).Select(d => new { queue = d.Queue, count = d.Count, firstVisibleInserted = d.FirstVisibleInserted }));
        api.MapGet("/queues/{name}", async (string name, CancellationToken ct) =>
            QueueInspector.IsKnown(name) ? Results.Ok((await queues.PeekAsync(name, cancellationToken: ct)).Select(View)) : NoSuchQueue(name));
        var retries = new ScheduledRetryStore(queues.Account);
        api.MapGet("/queues/outbound/retries", async (CancellationToken ct) => (await retries.ListAsync(ct)).Select(r => new
        {
            messageId = r.MessageId, key = r.Key, attempt = r.Attempt + 1, due = r.Due, recipients = r.Recipients, lastError = r.LastError,
        }));
        api.MapPost("/queues/outbound/retry", async (string? id, CancellationToken ct) => Results.Ok(new { retried = await retries.RetryNowAsync(id, ct) }));
        api.MapPost("/queues/{name}/replay", async (string name, string? id, CancellationToken ct) =>
        {
            if (!QueueInspector.IsKnown(name) || !name.EndsWith(StorageNames.PoisonSuffix, StringComparison.Ordinal))
                return NoSuchQueue(name);
            return Results.Ok(new { replayed = await queues.ReplayAsync(name, id, ct) });
        });
        api.MapDelete("/queues/{name}/items/{id}", async (string name, string id, bool? removeMessage, CancellationToken ct) =>
        {
            if (!QueueInspector.IsKnown(name))
                return NoSuchQueue(name);
            if (await queues.DeleteAsync(name, id, ct) is not { } item)
                return Results.NotFound(new { error = $"no visible item '{id}' on {name}" });
            bool? blobDeleted = removeMessage == true && item.MessageBlob is { } blob ? await spool.DeleteIfUnreferencedAsync(blob, ct) : false;
            return Results.Ok(new { deleted = item.Id, messageId = item.MessageId, blobDeleted = blobDeleted == true, blobKeptBecauseReferenced = blobDeleted is null });
        });
    }

    /// <summary>The same as <c>./mailcloud trace ID|ADDRESS</c>.</summary>
    private static void MapTrace(RouteGroupBuilder api, MessageTraceStore traces)
    {
        static object View(MessageTraceView v) => new { messageId = v.MessageId, events = v.Events.Select(e => new { at = e.At, stage = e.Stage.ToString().ToLowerInvariant(), text = e.Text }) };
        api.MapGet("/trace/{key}", async (string key, int? limit, CancellationToken ct) =>
        {
            var views = await traces.FindAsync(key, Math.Clamp(limit ?? 20, 1, 100), ct);
            return views.All(v => v.Events.Count == 0) ? Results.NotFound(new { error = $"no trace for '{key}'" }) : Results.Ok(views.Select(View));
        });
    }

    private static MailAddress Address(string text) =>
        MailAddress.TryParse(text, out var a, out var error) ? a : throw new FormatException($"invalid address: {error}");
}
