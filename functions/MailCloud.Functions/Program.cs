using MailCloud.Core;
using MailCloud.Data;
using MailCloud.Functions;

// Entry point under the Functions host: it tells us the port in FUNCTIONS_CUSTOMHANDLER_PORT.
var port = int.TryParse(Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT"), out var p) ? p : 8081;
var settings = new MailCloudSettings();
var app = FunctionsApp.Build(StorageFactory.Account(settings), settings.HostName, port, secrets: StorageFactory.Secrets(settings));
await app.RunAsync();
