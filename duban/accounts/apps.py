from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "duban.accounts"
    label = "accounts"

    def ready(self):
        from axes.signals import user_locked_out

        from . import actions

        def revoke_tokens(sender, request, username, ip_address, **kwargs):
            if username:
                actions.revoke_tokens_on_lockout(username, address=ip_address)

        # weak=False: the receiver is a local function, kept alive by the signal alone.
        user_locked_out.connect(revoke_tokens, weak=False, dispatch_uid="duban.accounts.lockout")
