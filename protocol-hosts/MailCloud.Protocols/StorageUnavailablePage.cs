using MailCloud.Storage;
using Microsoft.AspNetCore.Http;

namespace MailCloud.Protocols;

/// <summary>
/// The web front ends' answer when storage fails under a request (unreachable, busy, or a conflict that outlived
/// its retries): 503 with Retry-After and a page that says nothing was lost, instead of a 500. Safe because every
/// change a page makes is one conditional write or a sequence that is safe to repeat. Runs before authentication,
/// so a session check that cannot reach the directory gets the same answer.
/// </summary>
public static class StorageUnavailablePage
{
    public static async Task RunAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (StorageErrors.IsStorageFailure(e) && !context.Response.HasStarted)
        {
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "5";
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync("<!doctype html><title>Temporarily unavailable</title><p>Mail storage is temporarily unavailable. Nothing was lost; try again in a few seconds.</p>").ConfigureAwait(false);
        }
    }
}
