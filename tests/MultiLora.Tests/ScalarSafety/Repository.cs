namespace MultiLora.Tests.ScalarSafety;

/// <summary>The checkout the tests run from (the folder holding Directory.Packages.props).</summary>
static class Repository
{
    public static string Root { get; } = Locate();

    static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props"))) return dir.FullName;
        throw new DirectoryNotFoundException("repository root (Directory.Packages.props) not found above " + AppContext.BaseDirectory);
    }
}
