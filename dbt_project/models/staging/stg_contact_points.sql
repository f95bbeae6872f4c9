-- Contact points (phone numbers) as known at the business date, without the number itself.
{{ staged_contact_points() }}
