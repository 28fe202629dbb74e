import ArgumentParser

@main
struct Schoolgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schoolgate",
        abstract: "Content filter and monitoring proxy for schools.",
        subcommands: [
            ServeCommand.self, CheckCommand.self, IncidentsCommand.self, VisitsCommand.self, ReportCommand.self, AuditCommand.self, PurgeCommand.self,
            ListsCommand.self, ConfigCommand.self, UsersCommand.self, ConsentCommand.self, PolicyCommand.self,
            AllowCommand.self, BlockCommand.self, OverridesCommand.self, ReloadCommand.self, ComplianceCommand.self, DebugCommand.self,
        ]
    )
}
