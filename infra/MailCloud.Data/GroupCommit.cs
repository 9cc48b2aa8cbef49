namespace MailCloud.Data;

/// <summary>
/// Group commit of writes that share one storage row or partition: the first item for a key is committed at once,
/// alone, and the items that arrive while it is in flight wait and go together in the next commit (up to
/// <paramref name="maxGroup"/>). No timer: a quiet key adds no wait, a busy one makes one request for many items.
/// When a group's commit fails, its items are committed again one by one, so one bad item fails only itself: a commit
/// must be safe to repeat (an atomic transaction, or writes that a second run replaces).
/// </summary>
/// <param name="commit">Writes a group and returns one result per item, in order.</param>
public sealed class GroupCommit<TKey, TItem, TResult>(Func<TKey, IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> commit, int maxGroup)
    where TKey : notnull
{
    private sealed record Pending(TItem Item, TaskCompletionSource<TResult> Done);

    private readonly Dictionary<TKey, Queue<Pending>> _waiting = [];

    /// <summary>
    /// Commits <paramref name="item"/> with the others waiting for <paramref name="key"/>. The commit goes on when the
    /// caller stops waiting (<paramref name="cancellationToken"/>), as a request already sent would.
    /// </summary>
    public Task<TResult> AddAsync(TKey key, TItem item, CancellationToken cancellationToken)
    {
        var pending = new Pending(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool first;
        lock (_waiting)
        {
            first = !_waiting.TryGetValue(key, out var queue);
            if (first)
                _waiting[key] = queue = new Queue<Pending>();
            queue!.Enqueue(pending);
        }
        if (first)
            _ = Task.Run(() => DrainAsync(key), CancellationToken.None);
        return pending.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Commits the key's waiting items, a group at a time, until none is left.</summary>
    private async Task DrainAsync(TKey key)
    {
        while (true)
        {
            List<Pending> group;
            lock (_waiting)
            {
                var queue = _waiting[key];
                if (queue.Count == 0)
                {
                    _waiting.Remove(key);
                    return;
                }
                group = new List<Pending>(Math.Min(queue.Count, maxGroup));
                while (group.Count < maxGroup && queue.TryDequeue(out var p))
                    group.Add(p);
            }
            await CommitAsync(key, group).ConfigureAwait(false);
        }
    }

    private async Task CommitAsync(TKey key, List<Pending> group)
    {
        try
        {
            var results = await commit(key, group.Select(p => p.Item).ToList()).ConfigureAwait(false);
            for (int i = 0; i < group.Count; i++)
                group[i].Done.TrySetResult(results[i]);
        }
        catch (Exception) when (group.Count > 1)
        {
            foreach (var p in group)
                await CommitAsync(key, [p]).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            group[0].Done.TrySetException(e);
        }
    }
}
