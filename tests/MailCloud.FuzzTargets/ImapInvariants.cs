using MailCloud.Imap;

namespace MailCloud.FuzzTargets;

/// <summary>Runs a parsed command's arguments through the typed parsers the session uses (sequence sets, FETCH items, SEARCH keys, mailbox names).</summary>
internal static class ImapInvariants
{
    public static void Check(ImapCommand command)
    {
        if (command.Tag.Length == 0 || command.Name.Length == 0)
            throw new FuzzInvariantException("a command without a tag or name");
        var args = command.Args;
        foreach (var arg in args)
        {
            if (!arg.IsList && SequenceSet.TryParse(arg.Text, out var set))
                _ = set.ToString();
            if (arg.Kind != ImapTokenKind.List && ModifiedUtf7.TryDecode(arg.Text, out var name) && !ModifiedUtf7.TryDecode(ModifiedUtf7.Encode(name), out _))
                throw new FuzzInvariantException("a decoded mailbox name does not encode and decode again");
        }
        switch (command.Name.ToUpperInvariant())
        {
            case "FETCH" when args.Count >= 2:
                _ = FetchParser.TryParse(args[1], out _, out _);
                break;
            case "SEARCH":
                _ = SearchParser.TryParse(args, out _, out _, out _);
                break;
        }
    }
}
