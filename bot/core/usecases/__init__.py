"""The use cases, by concern; `bot.core.service.TicketService` brings them together.

Each public method is one use case in one database transaction (retried whole when another
writer got there first). The outbound events a use case causes are queued in that transaction.
"""
