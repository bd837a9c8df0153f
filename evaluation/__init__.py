"""Impact evaluation of referrals and interventions (issue 17): `svrisk impact`."""
