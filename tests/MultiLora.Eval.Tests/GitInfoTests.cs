using MultiLora.Eval.Running;
using MultiLora.Tests.Common;

namespace MultiLora.Eval.Tests;

public class GitInfoTests
{
    const string Sha = "0123456789abcdef0123456789abcdef01234567";

    [Fact]
    public void GitInfo_ReadsTheBranchRefFromAParentFolder()
    {
        using var dir = Fixture.Temp();
        Directory.CreateDirectory(dir.File(".git/refs/heads"));
        File.WriteAllText(dir.File(".git/HEAD"), "ref: refs/heads/main\n");
        File.WriteAllText(dir.File(".git/refs/heads/main"), Sha + "\n");
        Directory.CreateDirectory(dir.File("a/b"));
        Assert.Equal(Sha, GitInfo.Commit(dir.File("a/b")));
    }

    [Fact]
    public void GitInfo_FollowsAWorktreeToPackedRefsInTheCommonDir()
    {
        using var dir = Fixture.Temp();
        Directory.CreateDirectory(dir.File("repo/.git/worktrees/wt"));
        File.WriteAllText(dir.File("repo/.git/worktrees/wt/HEAD"), "ref: refs/heads/eval\n");
        File.WriteAllText(dir.File("repo/.git/worktrees/wt/commondir"), "../..\n");
        File.WriteAllText(dir.File("repo/.git/packed-refs"), "# pack-refs\n" + Sha + " refs/heads/eval\n");
        Directory.CreateDirectory(dir.File("wt"));
        File.WriteAllText(dir.File("wt/.git"), "gitdir: " + dir.File("repo/.git/worktrees/wt") + "\n");
        Assert.Equal(Sha, GitInfo.Commit(dir.File("wt")));
    }
}
