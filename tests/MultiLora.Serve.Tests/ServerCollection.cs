namespace MultiLora.Serve.Tests;

/// <summary>One server over the fixture model with every test adapter, shared by the tests that only send requests.</summary>
public sealed class SharedServer : IAsyncLifetime
{
    internal TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<SharedServer>
{
    public const string Name = "shared server";
}
