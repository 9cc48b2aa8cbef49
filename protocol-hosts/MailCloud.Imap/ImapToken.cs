using System.Text;

namespace MailCloud.Imap;

public enum ImapTokenKind
{
    Atom,
    Quoted,
    Literal,
    List,
}

/// <summary>One argument of a command: an atom, a string (quoted or literal, as bytes), or a parenthesized list.</summary>
public sealed class ImapToken
{
    private ImapToken(ImapTokenKind kind, byte[] bytes, IReadOnlyList<ImapToken>? items)
    {
        Kind = kind;
        Bytes = bytes;
        Items = items ?? [];
    }

    public ImapTokenKind Kind { get; }
    public byte[] Bytes { get; }
    public IReadOnlyList<ImapToken> Items { get; }

    public static ImapToken Atom(byte[] bytes) => new(ImapTokenKind.Atom, bytes, null);
    public static ImapToken Quoted(byte[] bytes) => new(ImapTokenKind.Quoted, bytes, null);
    public static ImapToken Literal(byte[] bytes) => new(ImapTokenKind.Literal, bytes, null);
    public static ImapToken List(IReadOnlyList<ImapToken> items) => new(ImapTokenKind.List, [], items);

    public bool IsList => Kind == ImapTokenKind.List;
    public bool IsString => Kind is ImapTokenKind.Quoted or ImapTokenKind.Literal;

    /// <summary>Text of an atom or string (UTF-8, as RFC 6855 clients send it).</summary>
    public string Text => Encoding.UTF8.GetString(Bytes);

    /// <summary>An atom compared case-insensitively (command names, keywords).</summary>
    public bool IsAtom(string value) => Kind == ImapTokenKind.Atom && string.Equals(Text, value, StringComparison.OrdinalIgnoreCase);

    public bool IsNil => IsAtom("NIL");

    public override string ToString() => IsList ? "(" + string.Join(' ', Items) + ")" : Text;
}

/// <summary>A parsed command: tag, name ("UID FETCH" is FETCH with <see cref="Uid"/>), arguments.</summary>
public sealed record ImapCommand(string Tag, string Name, bool Uid, IReadOnlyList<ImapToken> Args);
