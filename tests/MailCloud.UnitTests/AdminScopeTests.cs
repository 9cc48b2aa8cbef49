using MailCloud.Admin;
using MailCloud.Core;

namespace MailCloud.UnitTests;

/// <summary>Who may administer what: the role names the CLI, API and UI accept, and the scope a session gets from its user.</summary>
public sealed class AdminScopeTests
{
    private static UserInfo User(string address, AdminRole role, bool disabled = false) =>
        new(MailAddress.Parse(address), null, DateTimeOffset.UnixEpoch, ScramCredential.Create("password one", 4096, new byte[16]), disabled, role);

    [Theory]
    [InlineData("none", AdminRole.None)]
    [InlineData("Domain", AdminRole.Domain)]
    [InlineData(" global ", AdminRole.Global)]
    public void Role_names_parse(string text, AdminRole expected)
    {
        Assert.True(AdminRoles.TryParse(text, out var role));
        Assert.Equal(expected, role);
        Assert.Equal(expected.ToString().ToLowerInvariant(), AdminRoles.Name(role));
    }

    [Theory]
    [InlineData("2")] // Enum.TryParse would take a number for Global
    [InlineData("root")]
    [InlineData("")]
    [InlineData(null)]
    public void Anything_else_is_no_role(string? text) => Assert.False(AdminRoles.TryParse(text, out _));

    [Fact]
    public void A_domain_administrator_administers_only_their_domain()
    {
        var scope = AdminScope.Of(User("dora@delegated.test", AdminRole.Domain))!;
        Assert.False(scope.IsGlobal);
        Assert.Equal("delegated.test", scope.Domain);
        Assert.True(scope.Allows("Delegated.Test"));
        Assert.False(scope.Allows("example.test"));
        Assert.False(scope.Allows("sub.delegated.test"));
    }

    [Fact]
    public void A_server_administrator_administers_every_domain()
    {
        var scope = AdminScope.Of(User("boss@delegated.test", AdminRole.Global))!;
        Assert.True(scope.IsGlobal);
        Assert.Null(scope.Domain);
        Assert.True(scope.Allows("example.test"));
    }

    [Fact]
    public void Users_without_the_flag_and_disabled_administrators_get_no_session()
    {
        Assert.Null(AdminScope.Of(User("dan@delegated.test", AdminRole.None)));
        Assert.Null(AdminScope.Of(User("boss@delegated.test", AdminRole.Global, disabled: true)));
    }

    [Fact]
    public void The_credential_stamp_changes_with_the_password_only()
    {
        var a = User("dora@delegated.test", AdminRole.Domain);
        Assert.Equal(a.CredentialStamp, (a with { Role = AdminRole.None, Disabled = true }).CredentialStamp);
        Assert.NotEqual(a.CredentialStamp, (a with { Credential = ScramCredential.Create("password two", 4096, new byte[16]) }).CredentialStamp);
    }
}
