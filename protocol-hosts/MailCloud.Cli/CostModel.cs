using System.Globalization;
using System.Text;

namespace MailCloud.Cli;

/// <summary>Azure list prices the estimate uses, in US dollars. Each names where it comes from.</summary>
internal static class AzurePrices
{
    /// <summary>
    /// When and where these were read: the public pricing pages (pay-as-you-go, East US) as the project last saw them.
    /// This workplace cannot reach azure.microsoft.com, so they were not re-read for this build: check them in the
    /// pricing calculator before relying on the total.
    /// </summary>
    public const string AsOf = "2025-06 list prices, East US, pay-as-you-go (azure.microsoft.com/pricing)";

    // Blob storage, Standard GPv2, Hot tier, LRS (pricing/details/storage/blobs).
    public const double BlobGbMonth = 0.018;
    public const double BlobWritePer10K = 0.05;
    public const double BlobReadPer10K = 0.004;
    public const double BlobListPer10K = 0.05;

    // Queue storage, GPv2 LRS (pricing/details/storage/queues): class 1 and class 2 operations.
    public const double QueuePer10K = 0.004;

    // Table storage, LRS (pricing/details/storage/tables).
    public const double TableGbMonth = 0.045;
    public const double TablePer10K = 0.00036;

    // Functions, Flex Consumption on demand (pricing/details/functions), with the monthly free grant.
    public const double FlexGbSecond = 0.000026;
    public const double FlexPerMillionExecutions = 0.40;
    public const double FlexFreeGbSeconds = 100_000;
    public const double FlexFreeExecutions = 250_000;

    // Container Apps, Consumption plan (pricing/details/container-apps): active and idle rates, monthly free grant.
    public const double VcpuSecondActive = 0.000024;
    public const double VcpuSecondIdle = 0.000003;
    public const double GibSecondActive = 0.000003;
    public const double GibSecondIdle = 0.000003;
    public const double FreeVcpuSeconds = 180_000;
    public const double FreeGibSeconds = 360_000;

    // Container Registry, Basic (pricing/details/container-registry), per day.
    public const double RegistryBasicPerDay = 0.167;

    // Key Vault, Standard (pricing/details/key-vault): secret operations.
    public const double KeyVaultPer10K = 0.03;
}

/// <summary>The domain a small-business owner describes to <c>./mailcloud cost</c>.</summary>
internal sealed record DomainSize(int Users, int InPerDay, int OutPerDay, double StoredGb, int AverageKib, double ActiveShare, bool Registry, double FrontEndVcpu, double FrontEndGib)
{
    public static DomainSize Default { get; } = new(10, 1000, 200, 5, 50, 0.1, true, 0.25, 0.5);
}

/// <summary>One priced line of the estimate.</summary>
internal sealed record CostLine(string Item, string Basis, double MonthlyUsd);

/// <summary>
/// The monthly cost of running one deployment, from the storage requests MailCloud was measured to make (README
/// "Performance") and the plan prices above. Requests per message: accept 1 Put Blob + 1 Put Message; pipeline 1 Get
/// Messages, 1 Get Blob, 1 Delete Message, 3 table requests and 2 for its trace; reading it over IMAP 1 point read, 1 ranged blob read,
/// 2 table requests for \Seen; an outgoing message adds its Sent copy (1 Put Blob, 2 table requests), the outbound
/// queue item (Put, Get, Delete), 1 Get Blob, 2 delivery-log requests and 1 trace transaction per attempt.
/// </summary>
internal static class CostModel
{
    private const double DaysPerMonth = 30;
    private const double SecondsPerMonth = DaysPerMonth * 24 * 3600;

    /// <summary>host.json maxPollingInterval (10 s): GetMessages per queue trigger per hour while an instance is up.</summary>
    public const double WorkerPollsPerQueueHour = 3600 / 10.0;

    /// <summary>MAILCLOUD_IMAP_POLL (2 s): one folder query per 2 s for each folder an IDLE client watches.</summary>
    public const double IdlePollsPerFolderHour = 3600 / 2.0;

    public static IReadOnlyList<CostLine> Estimate(DomainSize d)
    {
        double inMonth = d.InPerDay * DaysPerMonth, outMonth = d.OutPerDay * DaysPerMonth;
        var lines = new List<CostLine>();
        void Add(string item, string basis, double usd) => lines.Add(new CostLine(item, basis, usd));

        Add("Blob storage", $"{d.StoredGb:0.#} GB of messages, Hot LRS", d.StoredGb * AzurePrices.BlobGbMonth);
        double blobWrites = inMonth + 2 * outMonth; // accepted messages, and the Sent copy of outgoing ones
        Add("Blob writes", $"{blobWrites:N0} Put Blob", blobWrites / 10_000 * AzurePrices.BlobWritePer10K);
        // IMAP read of incoming, delivery of outgoing; the inbound stage reads the blob back only for messages larger
        // than the work item carries (at an average size at or under that limit, most messages need no read).
        bool inboundReads = d.AverageKib * 1024 > MailCloud.Data.StorageMessageSpool.MaxInlineContentBytes;
        double blobReads = (inboundReads ? 2 : 1) * (inMonth + outMonth);
        Add("Blob reads", $"{blobReads:N0} Get Blob", blobReads / 10_000 * AzurePrices.BlobReadPer10K);

        // Housekeeping lists every blob daily (5,000 per page) and checks each old one's references (1 table query).
        double blobs = d.StoredGb * 1024 * 1024 / d.AverageKib;
        Add("Blob listing (housekeeping)", $"{Math.Ceiling(blobs / 5000) * DaysPerMonth:N0} List Blobs", Math.Ceiling(blobs / 5000) * DaysPerMonth / 10_000 * AzurePrices.BlobListPer10K);

        double queueWork = 3 * inMonth + 6 * outMonth;
        double queuePolls = 3 * WorkerPollsPerQueueHour * 24 * DaysPerMonth; // an instance up all day at this rate of mail
        Add("Queue operations", $"{queueWork:N0} for messages + {queuePolls:N0} idle polls (3 triggers, 10 s)", (queueWork + queuePolls) / 10_000 * AzurePrices.QueuePer10K);

        double tableWork = 8 * inMonth + 5 * outMonth;
        double idlePolls = d.Users * IdlePollsPerFolderHour * 24 * DaysPerMonth; // one client per user in IDLE on INBOX
        double housekeepingQueries = blobs * DaysPerMonth;
        Add("Table operations", $"{tableWork:N0} for messages + {idlePolls:N0} IDLE polls + {housekeepingQueries:N0} housekeeping checks",
            (tableWork + idlePolls + housekeepingQueries) / 10_000 * AzurePrices.TablePer10K);
        double tableGb = blobs * 4 / (1024.0 * 1024); // about 4 KiB of index per message (summary + header block)
        Add("Table storage", $"{tableGb:0.00} GB of mailbox index", tableGb * AzurePrices.TableGbMonth);

        double executions = inMonth + 2 * outMonth + DaysPerMonth;
        double gbSeconds = 0.5 * (inMonth * 0.2 + outMonth * (0.2 + 0.5)); // 512 MB instances; inbound ~0.2 s, delivery ~0.5 s
        double fnCost = Math.Max(0, executions - AzurePrices.FlexFreeExecutions) / 1e6 * AzurePrices.FlexPerMillionExecutions
                        + Math.Max(0, gbSeconds - AzurePrices.FlexFreeGbSeconds) * AzurePrices.FlexGbSecond;
        Add("Functions (Flex Consumption)", $"{executions:N0} executions, {gbSeconds:N0} GB-s (free grant: 250,000 and 100,000)", fnCost);

        // One front-end replica always on; billed at the active rate while it works, the idle rate otherwise.
        double vcpuSeconds = d.FrontEndVcpu * SecondsPerMonth, gibSeconds = d.FrontEndGib * SecondsPerMonth;
        Add("Front end vCPU (Container Apps)", $"{d.FrontEndVcpu} vCPU x 1 replica, {d.ActiveShare:P0} active", Grant(vcpuSeconds, d.ActiveShare, AzurePrices.FreeVcpuSeconds, AzurePrices.VcpuSecondActive, AzurePrices.VcpuSecondIdle));
        Add("Front end memory (Container Apps)", $"{d.FrontEndGib} GiB x 1 replica", Grant(gibSeconds, d.ActiveShare, AzurePrices.FreeGibSeconds, AzurePrices.GibSecondActive, AzurePrices.GibSecondIdle));
        if (d.Registry)
            Add("Container Registry (Basic)", "holds the front-end image; 0 with a public image elsewhere", AzurePrices.RegistryBasicPerDay * DaysPerMonth);
        double vaultOps = outMonth + DaysPerMonth * 24; // DKIM key reads per outgoing message, certificate refreshes
        Add("Key Vault", $"{vaultOps:N0} secret operations", vaultOps / 10_000 * AzurePrices.KeyVaultPer10K);
        Add("Networking, logs", "VNet, inbound traffic, first 100 GB out and 5 GB of logs are free at this size", 0);
        return lines;
    }

    /// <summary>The free grant is spent on the active seconds first, then on the idle ones.</summary>
    private static double Grant(double seconds, double activeShare, double free, double activeRate, double idleRate)
    {
        double active = seconds * activeShare, idle = seconds - active;
        double billableActive = Math.Max(0, active - free);
        double leftOver = Math.Max(0, free - active);
        return billableActive * activeRate + Math.Max(0, idle - leftOver) * idleRate;
    }

    public static string Format(DomainSize d, IReadOnlyList<CostLine> lines)
    {
        var sb = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        sb.AppendLine(c, $"Monthly cost of MailCloud in Azure for {d.Users} users, {d.InPerDay:N0} messages in and {d.OutPerDay:N0} out a day (about {d.AverageKib} KiB each), {d.StoredGb:0.#} GB stored");
        sb.AppendLine(c, $"prices: {AzurePrices.AsOf}");
        sb.AppendLine();
        int width = lines.Max(l => l.Item.Length);
        foreach (var l in lines)
            sb.AppendLine(c, $"  {l.Item.PadRight(width)}  ${l.MonthlyUsd,7:0.00}   {l.Basis}");
        sb.AppendLine(c, $"  {"total".PadRight(width)}  ${lines.Sum(l => l.MonthlyUsd),7:0.00}");
        return sb.ToString();
    }
}
